package mysql_test

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
)

// Prepare makes the branch durable and visible in XA RECOVER; Commit
// applies it (and is idempotent); Abort rolls a prepared branch back and
// leaves a tombstone that refuses a later Begin or Prepare.
func TestPrepareCommitAbortAndTombstone(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	e.prepared(t, "t1", "a", 5)
	e.wantState(t, "t1", participant.StatePrepared)
	if got := xaRecover(t, e.db); !contains(got, ours("t1", e.id)) {
		t.Fatalf("XA RECOVER = %v, want our branch of t1", got)
	}
	if v := e.value(t, "a"); v != -1 {
		t.Fatalf("a = %d visible before commit", v)
	}
	p, err := e.store.Prepared(bg)
	must(t, err)
	if len(p) != 1 || p[0].TxID != "t1" || !p[0].Deadline.After(time.Now()) {
		t.Fatalf("Prepared = %+v, want t1 with the deadline this process prepared it with", p)
	}
	must(t, e.store.Commit(bg, "t1"))
	must(t, e.store.Commit(bg, "t1")) // a retried phase 2
	e.wantState(t, "t1", participant.StateCommitted)
	if v := e.value(t, "a"); v != 5 {
		t.Fatalf("a = %d after commit, want 5", v)
	}
	_, err = e.store.Begin(bg, "t1")
	wantErr(t, err, participant.ErrAlreadyCommitted)
	wantErr(t, e.store.Abort(bg, "t1"), participant.ErrAlreadyCommitted)

	e.prepared(t, "t2", "a", 100)
	must(t, e.store.Abort(bg, "t2"))
	must(t, e.store.Abort(bg, "t2"))
	e.wantState(t, "t2", participant.StateAborted)
	if v := e.value(t, "a"); v != 5 {
		t.Fatalf("a = %d after abort, want 5", v)
	}
	wantErr(t, e.store.Commit(bg, "t2"), participant.ErrAlreadyAborted)
	_, err = e.store.Begin(bg, "t2") // re-prepare after an abort: refused
	wantErr(t, err, participant.ErrAlreadyAborted)

	// A tombstone written while the branch is active refuses its Prepare.
	tx, err := e.store.Begin(bg, "t3")
	must(t, err)
	e.put(t, tx, "a", 7)
	must(t, e.store.Abort(bg, "t3"))
	wantErr(t, e.store.Prepare(bg, "t3", tx, time.Now().Add(time.Minute)), participant.ErrAlreadyAborted)
	must(t, e.store.Rollback(bg, "t3", tx))
	e.wantState(t, "t3", participant.StateAborted)
	if v := e.value(t, "a"); v != 5 {
		t.Fatalf("a = %d after a refused prepare, want 5", v)
	}

	must(t, e.store.Abort(bg, "never-seen"))
	e.wantState(t, "never-seen", participant.StateAborted)
	if got := xaRecover(t, e.db); contains(got, ours("t2", e.id)) || contains(got, ours("t3", e.id)) {
		t.Fatalf("XA RECOVER after abort = %v", got)
	}
}

// A one-phase commit applies the work with XA COMMIT ... ONE PHASE: never
// prepared, recorded committed; a tombstone refuses it.
func TestOnePhaseCommit(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	tx, err := e.store.Begin(bg, "op1")
	must(t, err)
	e.put(t, tx, "a", 3)
	must(t, e.store.CommitOnePhase(bg, "op1", tx))
	e.wantState(t, "op1", participant.StateCommitted)
	if v := e.value(t, "a"); v != 3 {
		t.Fatalf("a = %d after a one-phase commit, want 3", v)
	}
	if _, err := tx.ExecContext(bg, "SELECT 1"); err == nil {
		t.Fatal("the handle still works after its one-phase commit")
	}

	tx, err = e.store.Begin(bg, "op2")
	must(t, err)
	e.put(t, tx, "a", 99)
	must(t, e.store.Abort(bg, "op2"))
	wantErr(t, e.store.CommitOnePhase(bg, "op2", tx), participant.ErrAlreadyAborted)
	must(t, e.store.Rollback(bg, "op2", tx))
	if v := e.value(t, "a"); v != 3 {
		t.Fatalf("a = %d after a refused one-phase commit, want 3", v)
	}
}

// ReadOnly is true for a branch that only read (even under FOR UPDATE
// locks) and false once it modified a row.
func TestReadOnlyBranch(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	_, err := e.db.Exec("INSERT INTO accounts VALUES ('a', 1)")
	must(t, err)
	tx, err := e.store.Begin(bg, "ro")
	must(t, err)
	var n int64
	must(t, tx.QueryRowContext(bg, "SELECT n FROM accounts WHERE id = 'a' FOR UPDATE").Scan(&n))
	if !e.store.ReadOnly(tx) {
		t.Fatal("ReadOnly = false for a branch that only read")
	}
	e.put(t, tx, "b", 2)
	if e.store.ReadOnly(tx) {
		t.Fatal("ReadOnly = true for a branch that inserted a row")
	}
	must(t, e.store.Rollback(bg, "ro", tx))
	if v := e.value(t, "b"); v != -1 {
		t.Fatalf("b = %d after rollback", v)
	}
}

// The XID is gtrid = transaction ID, bqual = participant ID, byte for
// byte: both at MySQL's 64-byte limit prepare, show in XA RECOVER as
// themselves, come back from Prepared and commit; one byte more is refused
// before anything is written.
func TestXIDAtTheLimits(t *testing.T) {
	srv := sharedServer(t)
	e := newBareEnv(t, srv)
	must(t, mysql.Migrate(bg, e.db))
	_, err := e.db.Exec("CREATE TABLE accounts (id VARCHAR(64) PRIMARY KEY, n BIGINT NOT NULL)")
	must(t, err)
	e.id = "p-" + repeat('x', 62) // 64 bytes
	e.store = e.open(t, mysql.Options{})
	txID := "t:é/" + repeat('y', 59) // 64 bytes, not all ASCII
	if len(txID) != 64 || len(e.id) != 64 {
		t.Fatalf("lengths %d, %d", len(txID), len(e.id))
	}
	e.prepared(t, txID, "a", 1)
	if got := xaRecover(t, e.db); !contains(got, ours(txID, e.id)) {
		t.Fatalf("XA RECOVER = %v, want %s", got, ours(txID, e.id))
	}
	p, err := e.store.Prepared(bg)
	must(t, err)
	if len(p) != 1 || p[0].TxID != txID {
		t.Fatalf("Prepared = %+v, want %q", p, txID)
	}
	must(t, e.store.Commit(bg, txID))
	if v := e.value(t, "a"); v != 1 {
		t.Fatalf("a = %d", v)
	}

	_, err = e.store.Begin(bg, txID+"z")
	wantErr(t, err, mysql.ErrInvalidID)
	_, err = mysql.Open(bg, e.db, e.id+"z", mysql.Options{})
	wantErr(t, err, mysql.ErrInvalidID)
	// Abort of an ID too long for an XID (the agent accepts 128 bytes)
	// still records its tombstone.
	long := repeat('L', 128)
	must(t, e.store.Abort(bg, long))
	e.wantState(t, long, participant.StateAborted)
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
