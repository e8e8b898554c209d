package mysql

// KeepSessionAfterPrepare makes Prepare leave the prepared branch attached
// to its session (the connection stays open, out of the pool, until the
// test kills it or the pool is closed). It lets a test play a
// connection that holds a prepared branch: one killed by the server, or
// one still attached when the decision comes.
func KeepSessionAfterPrepare(s *Store) {
	s.keepSession = true
}

// ConnID is the session ID (CONNECTION_ID()) of tx's connection.
func (t *Tx) ConnID() int64 { return t.connID }

// CloseSession closes tx's connection (after KeepSessionAfterPrepare).
func CloseSession(tx *Tx) { closeConn(tx.conn) }
