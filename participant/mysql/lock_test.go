package mysql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A lock wait behind a prepared branch ends before the caller's deadline
// (ErrLockWait), even when Options.LockTimeout is longer, so the agent can
// still write its tombstone; through the agent it is a clean no vote with
// the reason, and the transaction is aborted here.
func TestLockWaitEndsBeforeTheCallersDeadline(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	e.store = e.open(t, mysql.Options{LockTimeout: 20 * time.Second})
	_, err := e.db.Exec("INSERT INTO accounts VALUES ('a', 0)")
	must(t, err)
	e.prepared(t, "holder", "a", 1)

	ctx, cancel := context.WithTimeout(bg, 1500*time.Millisecond) // under a second of lock wait: max_statement_time
	defer cancel()
	tx, err := e.store.Begin(ctx, "waiter")
	must(t, err)
	start := time.Now()
	_, err = tx.ExecContext(ctx, "UPDATE accounts SET n = n + 1 WHERE id = 'a'")
	wantErr(t, err, mysql.ErrLockWait)
	wantErr(t, err, participant.ErrLockTimeout)
	if ctx.Err() != nil {
		t.Fatalf("the wait ended with the caller's deadline (%v after %v), not before it", ctx.Err(), time.Since(start))
	}
	must(t, e.store.Rollback(ctx, "waiter", tx))
	must(t, e.store.Abort(ctx, "waiter")) // the tombstone can still be written

	n := startNode(t, fakecoord.Start(t).Addr, e)
	pctx, pcancel := context.WithTimeout(bg, 3*time.Second)
	defer pcancel()
	r, err := n.pc.Prepare(pctx, &arbiterpb.PrepareRequest{TxId: "late", Payload: []byte("a=+5"),
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	must(t, err)
	if r.GetVote() != arbiterpb.Vote_VOTE_NO || !strings.Contains(r.GetReason(), "lock wait") {
		t.Fatalf("Prepare behind a prepared row: %v (%s), want a no vote naming the lock wait", r.GetVote(), r.GetReason())
	}
	e.store = n.store
	e.wantState(t, "late", participant.StateAborted)
	must(t, e.store.Commit(bg, "holder"))
	if a := e.value(t, "a"); a != 1 {
		t.Fatalf("a = %d, want 1", a)
	}
}

// Two branches lock two rows in opposite orders: InnoDB picks a deadlock
// victim (error 1213), which surfaces as ErrDeadlock, a no vote; the other
// branch prepares and commits.
func TestDeadlockIsANoVote(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	_, err := e.db.Exec("INSERT INTO accounts VALUES ('a', 0), ('b', 0)")
	must(t, err)
	t1, err := e.store.Begin(bg, "d1")
	must(t, err)
	t2, err := e.store.Begin(bg, "d2")
	must(t, err)
	upd := "UPDATE accounts SET n = n + 1 WHERE id = ?"
	_, err = t1.ExecContext(bg, upd, "a")
	must(t, err)
	_, err = t2.ExecContext(bg, upd, "b")
	must(t, err)
	done := make(chan error, 1)
	go func() { _, err := t1.ExecContext(bg, upd, "b"); done <- err }()
	time.Sleep(200 * time.Millisecond) // t1 waits on b
	_, err2 := t2.ExecContext(bg, upd, "a")
	err1 := <-done
	victim, winner, vt, wt := "d2", "d1", t2, t1
	if err2 == nil {
		victim, winner, vt, wt, err2 = "d1", "d2", t1, t2, err1
	} else if err1 != nil {
		t.Fatalf("both failed: %v / %v", err1, err2)
	}
	wantErr(t, err2, mysql.ErrDeadlock)
	if !strings.Contains(err2.Error(), "1213") {
		t.Fatalf("deadlock error %q does not name error 1213", err2)
	}
	must(t, e.store.Rollback(bg, victim, vt))
	must(t, e.store.Prepare(bg, winner, wt, time.Now().Add(time.Minute)))
	must(t, e.store.Commit(bg, winner))
	if a, b := e.value(t, "a"), e.value(t, "b"); a != 1 || b != 1 {
		t.Fatalf("a, b = %d, %d; want 1, 1 (the winner's two increments)", a, b)
	}
}
