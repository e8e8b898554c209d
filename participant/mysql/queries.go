package mysql

// Outcome codes in arbiter_outcomes.outcome.
const (
	outcomeCommitted = "C" // the marker: written inside the XA branch
	outcomeAborted   = "A" // the abort tombstone: written by Abort
)

// SQL over the tables of migrations/0001_arbiter_tables.sql, in the
// connection's current database. Placeholders are participant ID first.
const (
	qTerm    = `SELECT term FROM arbiter_meta WHERE participant = ?`
	qSetTerm = `INSERT INTO arbiter_meta (participant, term) VALUES (?, ?)
		ON DUPLICATE KEY UPDATE term = GREATEST(term, ?)`
	qInsertMarker = `INSERT INTO arbiter_outcomes (participant, tx_id, outcome, recorded_at)
		VALUES (?, ?, 'C', NOW(6))`
	// The tombstone, or nothing if an outcome is recorded: the insert waits
	// on the key while a branch holding the marker is prepared or ending.
	qTombstone = `INSERT INTO arbiter_outcomes (participant, tx_id, outcome, recorded_at, decided_at)
		VALUES (?, ?, 'A', NOW(6), NOW(6)) ON DUPLICATE KEY UPDATE outcome = outcome`
	qOutcomeLocked = `SELECT outcome FROM arbiter_outcomes WHERE participant = ? AND tx_id = ? LOCK IN SHARE MODE`
	qOutcome       = `SELECT outcome FROM arbiter_outcomes WHERE participant = ? AND tx_id = ?`
	// Prune in two steps: a consistent read (which neither sees nor waits
	// on a prepared branch's marker) picks up to a batch of rows, then one
	// write touches exactly those committed rows by primary key (the IN
	// list is appended: see inList).
	qUnstamped = `SELECT tx_id FROM arbiter_outcomes WHERE participant = ? AND decided_at IS NULL LIMIT ?`
	qStamp     = `UPDATE arbiter_outcomes SET decided_at = NOW(6) WHERE participant = ? AND decided_at IS NULL AND tx_id IN `
	qExpired   = `SELECT tx_id FROM arbiter_outcomes WHERE participant = ?
		AND decided_at < NOW(6) - INTERVAL ? MICROSECOND LIMIT ?`
	qDelete = `DELETE FROM arbiter_outcomes WHERE participant = ? AND tx_id IN `
	// The adapter's tables and their engines in the current database.
	qTables = `SELECT table_name, engine FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name IN ('arbiter_outcomes', 'arbiter_meta')`
)
