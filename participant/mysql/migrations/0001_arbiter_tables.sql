-- Arbiter MySQL/MariaDB participant adapter: the tables it needs, in the
-- database the participant's DSN names. Run once per database before the
-- first participant starts (mysql.Migrate runs this file; or pipe it to
-- the mysql/mariadb client). Idempotent. The adapter never creates or
-- alters tables itself: DDL would wait behind the locks of prepared XA
-- branches, so a participant restarting with work in doubt would hang
-- before it could resolve it.
--
-- arbiter_outcomes: one row per (participant, transaction). 'C' is the
-- commit marker, inserted inside the XA branch before XA PREPARE (visible
-- only once the branch commits); 'A' is the abort tombstone, written by
-- Abort. They share the primary key, so a Prepare after an abort fails
-- with a duplicate key. decided_at is stamped when the outcome is known
-- (tombstones at once, markers by the first prune pass that sees them);
-- outcome records are pruned by it.
CREATE TABLE IF NOT EXISTS arbiter_outcomes (
	participant VARBINARY(64) NOT NULL,
	tx_id VARBINARY(128) NOT NULL,
	outcome CHAR(1) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	recorded_at DATETIME(6) NOT NULL,
	decided_at DATETIME(6) NULL,
	PRIMARY KEY (participant, tx_id),
	KEY arbiter_outcomes_decided (participant, decided_at),
	CONSTRAINT arbiter_outcomes_outcome CHECK (outcome IN ('C', 'A'))
) ENGINE = InnoDB;

-- arbiter_meta: the highest coordinator term each participant has seen
-- (fencing of phase-2 messages). It only grows.
CREATE TABLE IF NOT EXISTS arbiter_meta (
	participant VARBINARY(64) NOT NULL PRIMARY KEY,
	term BIGINT UNSIGNED NOT NULL
) ENGINE = InnoDB;
