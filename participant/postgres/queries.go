package postgres

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// Outcome codes in arbiter_outcomes.outcome.
const (
	outcomeCommitted = "C" // the marker: written inside the prepared transaction
	outcomeAborted   = "A" // the abort tombstone: written by Abort
)

// queries holds the SQL of a Store, with the schema's tables quoted in.
type queries struct {
	schema []string // DDL run by Open

	term, setTerm              string
	insertMarker, tombstone    string
	outcome                    string
	findPrepared, listPrepared string
	stampDecided, gc           string
}

// newQueries builds the SQL over two tables. arbiter_outcomes has one row
// per transaction: the marker 'C' and the tombstone 'A' share the primary
// key, so a marker can never be written next to a tombstone, whatever the
// local transaction's isolation level.
func newQueries(schema string) queries {
	outcomes := pgx.Identifier{schema, "arbiter_outcomes"}.Sanitize()
	meta := pgx.Identifier{schema, "arbiter_meta"}.Sanitize()
	r := strings.NewReplacer("$outcomes", outcomes, "$meta", meta)
	return queries{
		schema: []string{
			"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize(),
			r.Replace(`CREATE TABLE IF NOT EXISTS $outcomes (participant text NOT NULL, tx_id text NOT NULL,
				outcome "char" NOT NULL CHECK (outcome IN ('C', 'A')), recorded_at timestamptz NOT NULL,
				decided_at timestamptz, PRIMARY KEY (participant, tx_id))`),
			// No ALTER TABLE here, even with IF NOT EXISTS: it takes an
			// ACCESS EXCLUSIVE lock, which waits behind every prepared
			// transaction's marker row, so a participant restarting with
			// work in doubt would hang before it could resolve it.
			r.Replace(`CREATE TABLE IF NOT EXISTS $meta (participant text PRIMARY KEY, term bigint NOT NULL)`),
		},
		term: r.Replace(`SELECT term FROM $meta WHERE participant = $1`),
		setTerm: r.Replace(`INSERT INTO $meta (participant, term) VALUES ($1, $2)
			ON CONFLICT (participant) DO UPDATE SET term = EXCLUDED.term WHERE $meta.term < EXCLUDED.term`),
		insertMarker: r.Replace(`INSERT INTO $outcomes (participant, tx_id, outcome, recorded_at)
			VALUES ($1, $2, 'C', clock_timestamp())`),
		// Inserts the tombstone or returns the outcome already recorded.
		tombstone: r.Replace(`INSERT INTO $outcomes AS o (participant, tx_id, outcome, recorded_at, decided_at)
			VALUES ($1, $2, 'A', clock_timestamp(), clock_timestamp())
			ON CONFLICT (participant, tx_id) DO UPDATE SET outcome = o.outcome RETURNING o.outcome::text`),
		outcome: r.Replace(`SELECT outcome::text FROM $outcomes WHERE participant = $1 AND tx_id = $2`),
		// The rest of txID's gid after its prefix must be the deadline
		// (digits only): "a:" must not match the gid of tx "a:5".
		findPrepared: `SELECT gid FROM pg_prepared_xacts WHERE database = current_database()
			AND starts_with(gid, $1) AND substr(gid, length($1) + 1) ~ '^[0-9]+$'`,
		listPrepared: `SELECT gid FROM pg_prepared_xacts WHERE database = current_database()
			AND starts_with(gid, $1) ORDER BY prepared`,
		// A marker is written (decided_at NULL) inside the prepared
		// transaction and becomes visible when it commits, however long it
		// was in doubt: the first GC that sees it stamps the time, which is
		// never before the commit. Prepared markers are invisible: untouched.
		stampDecided: r.Replace(`UPDATE $outcomes SET decided_at = clock_timestamp()
			WHERE participant = $1 AND decided_at IS NULL`),
		// At most $3 rows per statement: a long backlog is deleted in
		// short transactions.
		gc: r.Replace(`DELETE FROM $outcomes WHERE participant = $1 AND tx_id IN (
			SELECT tx_id FROM $outcomes WHERE participant = $1
			AND decided_at < clock_timestamp() - make_interval(secs => $2) LIMIT $3)`),
	}
}
