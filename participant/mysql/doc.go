// Package mysql is the MySQL/MariaDB participant adapter: *Store implements
// participant.Resource[*Tx] over a database/sql pool (driver
// github.com/go-sql-driver/mysql) with XA transactions.
//
// Begin takes a connection of its own (XA is tied to the session), sets
// innodb_lock_wait_timeout (Options.LockTimeout, cut to 3/4 of the time
// left before the caller's deadline) and runs XA START with the XID
// gtrid = transaction ID, bqual = participant ID, format ID 0x41524231
// ("ARB1"). The handler, or the function given to participant.Agent.Do,
// runs its SQL through the *Tx; it must not run COMMIT, ROLLBACK or XA
// statements. Prepare inserts the marker row (outcome 'C') into
// arbiter_outcomes inside the branch, runs XA END and XA PREPARE, and
// closes the connection, which detaches the prepared branch: any
// connection may then run XA COMMIT or XA ROLLBACK, and the branch
// survives a restart of the service or of the server. CommitOnePhase runs
// XA COMMIT ... ONE PHASE instead; ReadOnly tells from the session's
// handler counters whether the branch wrote a row (a read-only branch is rolled back and votes
// READ_ONLY).
//
// Durable state of a transaction: Prepared if its XID is in XA RECOVER;
// Committed if its marker is visible; Aborted if it has a tombstone
// (outcome 'A', written by Abort even for a transaction never seen, so
// that a late Prepare is refused: marker and tombstone share a primary
// key). Commit of a transaction with neither branch nor marker nor
// tombstone means the prepared work was rolled back outside Arbiter:
// ErrHeuristicRollback. Abort that finds the marker committed:
// ErrHeuristicCommit. Both are reported as the PostgreSQL adapter reports
// them: an error log, HeuristicOutcomes here,
// arbiter_participant_heuristic_outcomes_total in the agent, and
// FAILED_PRECONDITION with the reason HEURISTIC_ROLLBACK /
// HEURISTIC_COMMIT to the coordinator. XIDs in XA RECOVER that are not
// this participant's are left alone and logged once.
//
// Tables: arbiter_outcomes(participant, tx_id, outcome, recorded_at,
// decided_at) and arbiter_meta(participant, term), in the DSN's database,
// created by the migration in migrations/ (Migrate runs it), never by
// Open, which refuses to start without them. GC (PruneOutcomes for the
// agent) deletes outcome rows older than the retention.
//
// Server requirements, checked by Open (which writes nothing): MariaDB
// 10.5.2+ or MySQL 5.7.7+ (older servers roll prepared branches back when
// their connection ends), XA on, innodb_flush_log_at_trx_commit=1, and
// sync_binlog=1 when the binlog is on (Options.RequireBinlog also refuses
// a server without it). Transaction IDs are at most 64 bytes (an XA gtrid;
// client.NewTxID makes 32) and participant IDs at most 64 (the bqual).
//
// Tests start real servers with package mysqltest.
package mysql
