package postgres_test

import (
	"testing"

	"github.com/arbiter-tx/arbiter/participant"
)

// A one-phase commit applies the work and records it committed with a
// plain COMMIT: nothing is left in pg_prepared_xacts, and a tombstone
// (an aborted ID) refuses it.
func TestCommitOnePhase(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	tx, err := e.store.Begin(bg, "t1")
	must(t, err)
	e.put(t, tx, "a", 5)
	must(t, e.store.CommitOnePhase(bg, "t1", tx))
	if v := e.value(t, "a"); v != 5 {
		t.Fatalf("a = %d after a one-phase commit", v)
	}
	e.wantState(t, "t1", participant.StateCommitted)
	if p, _ := e.store.Prepared(bg); len(p) != 0 {
		t.Fatalf("Prepared = %v after a one-phase commit", p)
	}
	wantErr(t, e.store.Abort(bg, "t1"), participant.ErrAlreadyCommitted)

	must(t, e.store.Abort(bg, "t2"))
	_, err = e.store.Begin(bg, "t2")
	wantErr(t, err, participant.ErrAlreadyAborted)

	// Aborted while the local work was active: the one-phase commit is
	// refused and the rollback leaves nothing behind.
	tx3, err := e.store.Begin(bg, "t3")
	must(t, err)
	e.put(t, tx3, "b", 7)
	must(t, e.store.Abort(bg, "t3"))
	wantErr(t, e.store.CommitOnePhase(bg, "t3", tx3), participant.ErrAlreadyAborted)
	must(t, e.store.Rollback(bg, "t3", tx3))
	if v := e.value(t, "b"); v != -1 {
		t.Fatalf("b = %d: a refused one-phase commit applied its write", v)
	}
}
