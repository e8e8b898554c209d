package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/postgres"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
)

func TestCommitPath(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	deadline := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	tx, err := e.store.Begin(bg, "t1")
	must(t, err)
	e.put(t, tx, "a", 1)
	must(t, e.store.Prepare(bg, "t1", tx, deadline))
	e.wantState(t, "t1", participant.StatePrepared)
	if v := e.value(t, "a"); v != -1 {
		t.Fatalf("prepared write visible before commit: %d", v)
	}
	p, err := e.store.Prepared(bg)
	must(t, err)
	if len(p) != 1 || p[0].TxID != "t1" || !p[0].Deadline.Equal(deadline) {
		t.Fatalf("Prepared = %v, want t1 with deadline %v", p, deadline)
	}
	must(t, e.store.Commit(bg, "t1"))
	must(t, e.store.Commit(bg, "t1")) // idempotent
	if v := e.value(t, "a"); v != 1 {
		t.Fatalf("a = %d after commit", v)
	}
	e.wantState(t, "t1", participant.StateCommitted)
	if p, _ := e.store.Prepared(bg); len(p) != 0 {
		t.Fatalf("Prepared after commit = %v", p)
	}
	wantErr(t, e.store.Abort(bg, "t1"), participant.ErrAlreadyCommitted)
	_, err = e.store.Begin(bg, "t1")
	wantErr(t, err, participant.ErrAlreadyCommitted)
}

func TestAbortPathAndTombstones(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	e.prepared(t, "t1", "a", 1)
	must(t, e.store.Abort(bg, "t1"))
	must(t, e.store.Abort(bg, "t1")) // idempotent
	e.wantState(t, "t1", participant.StateAborted)
	if v := e.value(t, "a"); v != -1 {
		t.Fatalf("aborted write visible: %d", v)
	}
	wantErr(t, e.store.Commit(bg, "t1"), participant.ErrAlreadyAborted)

	must(t, e.store.Abort(bg, "never-seen"))
	_, err := e.store.Begin(bg, "never-seen")
	wantErr(t, err, participant.ErrAlreadyAborted)

	// Abort while the local work is active: the late Prepare is refused.
	tx, err := e.store.Begin(bg, "late")
	must(t, err)
	e.put(t, tx, "b", 2)
	must(t, e.store.Abort(bg, "late"))
	wantErr(t, e.store.Prepare(bg, "late", tx, time.Now().Add(time.Minute)), participant.ErrAlreadyAborted)
	must(t, e.store.Rollback(bg, "late", tx))
	e.wantState(t, "late", participant.StateAborted)
	if p, _ := e.store.Prepared(bg); len(p) != 0 {
		t.Fatalf("Prepared = %v after refused prepare", p)
	}
}

func TestBeginRollbackAndHandleGuards(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	tx, err := e.store.Begin(bg, "t1")
	must(t, err)
	_, err = e.store.Begin(bg, "t1")
	wantErr(t, err, participant.ErrTxExists)
	wantErr(t, tx.Commit(bg), postgres.ErrLocalCommit)
	e.put(t, tx, "a", 1)
	must(t, e.store.Rollback(bg, "t1", tx))
	must(t, e.store.Rollback(bg, "t1", tx)) // idempotent
	e.wantState(t, "t1", participant.StateNone)
	if v := e.value(t, "a"); v != -1 {
		t.Fatalf("rolled back write visible: %d", v)
	}

	e.prepared(t, "t1", "a", 1) // the ID is free again after a rollback
	_, err = e.store.Begin(bg, "t1")
	wantErr(t, err, participant.ErrTxExists)
	must(t, e.store.Commit(bg, "t1"))
	wantErr(t, e.store.Commit(bg, "unknown"), participant.ErrNotPrepared)
}

func TestHandleUnusableAfterPrepare(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	tx, err := e.store.Begin(bg, "t1")
	must(t, err)
	e.put(t, tx, "a", 1)
	must(t, e.store.Prepare(bg, "t1", tx, time.Now().Add(time.Minute)))
	if _, err := tx.Exec(bg, "SELECT 1"); err == nil {
		t.Fatal("Exec on a prepared handle succeeded")
	}
	if err := e.store.Rollback(bg, "t1", tx); err == nil || !strings.Contains(err.Error(), "Abort") {
		t.Fatalf("Rollback of a prepared tx = %v, want a refusal naming Abort", err)
	}
	must(t, e.store.Abort(bg, "t1"))
}

func TestTermOnlyGrowsPerParticipant(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	other, err := postgres.Open(bg, e.pool, "other-"+e.id, postgres.Options{Schema: e.schema})
	must(t, err)
	for _, step := range []struct{ set, want uint64 }{{0, 0}, {5, 5}, {3, 5}, {9, 9}} {
		must(t, e.store.SetTerm(bg, step.set))
		if term, err := e.store.Term(bg); err != nil || term != step.want {
			t.Fatalf("after SetTerm(%d): Term = %d, %v; want %d", step.set, term, err, step.want)
		}
	}
	if term, _ := other.Term(bg); term != 0 {
		t.Fatalf("another participant's term = %d, want 0", term)
	}
	if term, _ := e.open(t, postgres.Options{}).Term(bg); term != 9 {
		t.Fatalf("term after reopen = %d, want 9", term)
	}
}

func TestAwkwardIDsRoundTrip(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	ids := []string{`it's:a\b`, "a", "a:5", "ünïcode tx"}
	for i, id := range ids {
		e.prepared(t, id, id, int64(i))
	}
	p, err := e.store.Prepared(bg)
	must(t, err)
	if len(p) != len(ids) {
		t.Fatalf("Prepared = %v, want %d", p, len(ids))
	}
	for i, id := range ids {
		e.wantState(t, id, participant.StatePrepared)
		must(t, e.store.Commit(bg, id))
		if v := e.value(t, id); v != int64(i) {
			t.Fatalf("%q = %d after commit", id, v)
		}
	}
	_, err = e.store.Begin(bg, strings.Repeat("x", 129))
	wantErr(t, err, postgres.ErrInvalidID)
	for _, bad := range []string{"", "a:b", strings.Repeat("p", 41)} {
		_, err := postgres.Open(bg, e.pool, bad, postgres.Options{Schema: e.schema})
		wantErr(t, err, postgres.ErrInvalidID)
	}
}

func TestGCDeletesOnlyOldOutcomes(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	e.prepared(t, "old-commit", "a", 1)
	must(t, e.store.Commit(bg, "old-commit"))
	must(t, e.store.Abort(bg, "old-abort"))
	must(t, e.store.Abort(bg, "new-abort"))
	e.prepared(t, "in-doubt", "b", 2)
	_, err := e.pool.Exec(bg, "UPDATE "+e.schema+`.arbiter_outcomes SET decided_at = now() - interval '2 hours'
		WHERE tx_id LIKE 'old-%'`)
	must(t, err)

	n, err := e.store.GC(bg, time.Hour)
	must(t, err)
	if n != 2 {
		t.Fatalf("GC deleted %d rows, want 2", n)
	}
	e.wantState(t, "old-commit", participant.StateNone)
	e.wantState(t, "old-abort", participant.StateNone)
	e.wantState(t, "new-abort", participant.StateAborted)
	must(t, e.store.Commit(bg, "in-doubt")) // its invisible marker survived
	e.wantState(t, "in-doubt", participant.StateCommitted)
	if _, err := e.store.GC(bg, 0); err == nil {
		t.Fatal("GC with a zero retention succeeded")
	}
}

// Retention counts from the outcome, not the prepare: a transaction in
// doubt longer than the retention keeps its marker after its commit, so a
// retried Commit still succeeds after a GC (the bug: its marker was deleted
// at once and the retry reported a false heuristic rollback). Once the
// retention has passed since the outcome, markers and tombstones go.
func TestGCRetentionCountsFromTheOutcome(t *testing.T) {
	const retention = 500 * time.Millisecond
	e := newEnv(t, sharedServer(t).DSN)
	e.prepared(t, "slow", "a", 1)
	e.prepared(t, "done", "b", 1)
	must(t, e.store.Commit(bg, "done"))
	must(t, e.store.Abort(bg, "ab"))
	time.Sleep(retention + 200*time.Millisecond) // "slow" is in doubt longer than the retention

	must(t, e.store.Commit(bg, "slow"))
	n, err := e.store.GC(bg, retention)
	must(t, err)
	if n != 1 {
		t.Fatalf("first GC deleted %d rows, want 1 (the tombstone, older than the retention)", n)
	}
	must(t, e.store.Commit(bg, "slow")) // a retried Commit
	must(t, e.store.Commit(bg, "done"))
	e.wantState(t, "ab", participant.StateNone)

	time.Sleep(retention + 200*time.Millisecond)
	if n, err = e.store.GC(bg, retention); err != nil || n != 2 {
		t.Fatalf("second GC = %d, %v; want both markers deleted", n, err)
	}
	e.wantState(t, "slow", participant.StateNone)
	e.wantState(t, "done", participant.StateNone)
}

// RunGC collects on its timer and stops with its context.
func TestRunGCCollectsPeriodically(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	must(t, e.store.Abort(bg, "ab"))
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.store.RunGC(ctx, 100*time.Millisecond, 50*time.Millisecond)
	}()
	eventually(t, "RunGC to delete the tombstone", func() bool {
		st, err := e.store.State(bg, "ab")
		return err == nil && st == participant.StateNone
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunGC did not return after its context was cancelled")
	}
}

func TestOpenWithoutPreparedTransactions(t *testing.T) {
	srv := pgtest.Start(t, "max_prepared_transactions=0")
	_, err := postgres.Open(bg, newPool(t, srv.DSN), "p", postgres.Options{})
	wantErr(t, err, postgres.ErrNoPreparedTransactions)
	if !strings.Contains(err.Error(), "max_prepared_transactions is 0: set it > 0 in postgresql.conf") {
		t.Fatalf("error %q does not say what to do", err)
	}
}

// A statement cancelled by its context makes pgx close the connection;
// rolling back that transaction afterwards is not an error (the server
// discarded it with the session) and frees the ID.
func TestRollbackAfterCancelledStatement(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	tx, err := e.store.Begin(bg, "t1")
	must(t, err)
	e.put(t, tx, "a", 1)
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	if _, err := tx.Exec(ctx, "SELECT pg_sleep(10)"); err == nil {
		t.Fatal("pg_sleep(10) finished within a 100 ms context")
	}
	if !tx.Conn().IsClosed() {
		t.Fatal("pgx kept the connection of a cancelled statement open; this test needs it closed")
	}
	must(t, e.store.Rollback(bg, "t1", tx))
	e.wantState(t, "t1", participant.StateNone)
	if v := e.value(t, "a"); v != -1 {
		t.Fatalf("write of the dropped session visible: %d", v)
	}
	tx, err = e.store.Begin(bg, "t1") // the ID is free again
	must(t, err)
	must(t, e.store.Rollback(bg, "t1", tx))
}
