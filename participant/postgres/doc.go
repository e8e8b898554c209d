// Package postgres is the PostgreSQL participant adapter: *Store implements
// participant.Resource[pgx.Tx] over a pgxpool.Pool with PREPARE
// TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED.
//
// Begin acquires a connection of its own and starts the local transaction
// on it, with lock_timeout (Options.LockTimeout, default 5s) and
// statement_timeout set locally, and hands it out as a pgx.Tx (a *Tx). The
// handler, or the function given to participant.Agent.Do, runs its SQL in
// it; it must not call Commit or Rollback (they return ErrLocalCommit) nor
// keep the handle. Prepare inserts the marker row (outcome 'C') into
// arbiter_outcomes inside that transaction, runs PREPARE TRANSACTION and
// returns the connection to the pool. Commit and Abort run COMMIT PREPARED
// and ROLLBACK PREPARED from any pooled connection; both are idempotent.
//
// The gid is "arbiter:<participantID>:<txID>:<deadline unix ms>". The
// marker row is invisible while its transaction is prepared, so the
// deadline rides in the gid and Prepared reads both from pg_prepared_xacts.
//
// Durable state of a transaction: Prepared if its gid is prepared in this
// database; Committed if its marker is visible; Aborted if it has an abort
// tombstone (outcome 'A', written by Abort, even for a transaction never
// seen, so that a late Prepare is refused: marker and tombstone share a
// primary key). Commit of a transaction with neither gid nor marker nor
// tombstone means the prepared work was rolled back outside Arbiter:
// ErrHeuristicRollback. Abort that finds the marker committed:
// ErrHeuristicCommit. Both are logged at error level, counted
// (HeuristicOutcomes here, arbiter_participant_heuristic_outcomes_total in
// the agent) and reach the coordinator as codes.FailedPrecondition with the
// reason HEURISTIC_ROLLBACK / HEURISTIC_COMMIT, which logs them at error
// level, counts them and keeps the transaction unfinished.
//
// Tables, created by Open in Options.Schema (default "arbiter") and keyed by
// participant ID so that several participants may share a database:
// arbiter_outcomes(participant, tx_id, outcome, recorded_at) and
// arbiter_meta(participant, term). GC deletes old outcome rows; its
// retention must exceed how long a transaction can stay in doubt plus how
// long the coordinators remember finished transactions.
//
// Server requirements, checked by Open: max_prepared_transactions > 0 and
// synchronous_commit not off. Pool sizing: a local transaction holds a
// connection from Begin to Prepare, and Commit needs another, so MaxConns
// should exceed the number of concurrent local transactions; otherwise
// writers blocked on prepared rows free their connections only at
// lock_timeout. Close the agent and let in-flight local transactions end
// before closing the pool (pgxpool.Close waits for acquired connections).
//
// Tests start real servers with package pgtest.
package postgres
