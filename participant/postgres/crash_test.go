package postgres_test

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
)

// PostgreSQL killed (pg_ctl stop -m immediate) after PREPARE: the prepared
// transaction survives the WAL replay, is listed, keeps its deadline and
// commits.
func TestPostgresCrashKeepsPreparedTransaction(t *testing.T) {
	srv := pgtest.Start(t)
	e := newEnv(t, srv.DSN)
	deadline := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	tx, err := e.store.Begin(bg, "t1")
	must(t, err)
	e.put(t, tx, "a", 42)
	must(t, e.store.Prepare(bg, "t1", tx, deadline))
	must(t, e.store.Abort(bg, "t2"))

	must(t, srv.Crash())
	must(t, srv.Restart())

	// The pool's connections died with the server: poll until it reconnects.
	eventually(t, "prepared transaction listed after restart", func() bool {
		p, err := e.store.Prepared(bg)
		return err == nil && len(p) == 1 && p[0].TxID == "t1" && p[0].Deadline.Equal(deadline)
	})
	e.wantState(t, "t1", participant.StatePrepared)
	e.wantState(t, "t2", participant.StateAborted)
	must(t, e.store.Commit(bg, "t1"))
	if v := e.value(t, "a"); v != 42 {
		t.Fatalf("a = %d after commit, want 42", v)
	}
}
