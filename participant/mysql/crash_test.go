package mysql_test

import (
	"database/sql/driver"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// The MariaDB server itself dies (SIGKILL, then a clean stop) with
// branches prepared: after each restart they are still in XA RECOVER,
// Prepared lists them, and the coordinators' decisions are applied from
// a fresh pool (one committed, one aborted).
func TestServerRestartKeepsPreparedBranches(t *testing.T) {
	srv := mysqltest.Start(t)
	for _, how := range []string{"crash", "stop"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, srv)
			e.prepared(t, "c-"+how, "a", 10)
			e.prepared(t, "a-"+how, "b", 20)
			must(t, e.db.Close())
			if how == "crash" {
				must(t, srv.Crash())
			} else {
				must(t, srv.Stop())
			}
			must(t, srv.Restart())

			e.db = openDB(t, srv.DSN(e.dbName))
			got := e.branches(t)
			if len(got) != 2 || !contains(got, ours("c-"+how, e.id)) || !contains(got, ours("a-"+how, e.id)) {
				t.Fatalf("XA RECOVER after the server's %s = %v, want both branches", how, got)
			}
			e.store = e.open(t, mysql.Options{})
			p, err := e.store.Prepared(bg)
			must(t, err)
			if len(p) != 2 || p[0].Deadline.Unix() != 0 || p[1].Deadline.Unix() != 0 {
				t.Fatalf("Prepared = %+v, want both, with the epoch as the deadline (resolve at once)", p)
			}
			must(t, e.store.Commit(bg, "c-"+how))
			must(t, e.store.Abort(bg, "a-"+how))
			if a, b := e.value(t, "a"), e.value(t, "b"); a != 10 || b != -1 {
				t.Fatalf("a, b = %d, %d; want 10 committed and b absent", a, b)
			}
			if got := e.branches(t); len(got) != 0 {
				t.Fatalf("XA RECOVER = %v at the end", got)
			}
		})
	}
}

// The agent is down while the server restarts; when it comes back, its
// recovery pass resolves the surviving branch with the coordinator.
func TestServerRestartThenAgentRecovery(t *testing.T) {
	srv := mysqltest.Start(t)
	e := newEnv(t, srv)
	coord := fakecoord.Start(t)
	n := startNode(t, coord.Addr, e)
	if r := n.prepare(t, "tx", "a=+3"); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("vote %v", r.GetVote())
	}
	n.crash()
	must(t, e.db.Close())
	must(t, srv.Crash())
	must(t, srv.Restart())
	e.db = openDB(t, srv.DSN(e.dbName))
	coord.SetResolve(arbiterpb.Outcome_OUTCOME_COMMIT, 3)
	startNode(t, coord.Addr, e)
	eventually(t, "the branch resolved after the server's restart", func() bool { return e.value(t, "a") == 3 })
	if got := e.branches(t); len(got) != 0 {
		t.Fatalf("XA RECOVER = %v after recovery", got)
	}
}

// The connection holding a prepared branch is killed on the server (KILL
// CONNECTION): the branch stays prepared and is committed from another
// connection. A branch still attached to a live session when the decision
// comes is freed by the adapter (it kills that session) and committed.
func TestPreparedBranchOutlivesItsConnection(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	mysql.KeepSessionAfterPrepare(e.store)

	tx, err := e.store.Begin(bg, "killed")
	must(t, err)
	e.put(t, tx, "a", 1)
	must(t, e.store.Prepare(bg, "killed", tx, time.Now().Add(time.Minute)))
	_, err = e.db.Exec(fmt.Sprintf("KILL CONNECTION %d", tx.ConnID()))
	must(t, err)
	mysql.CloseSession(tx)
	eventually(t, "the killed session to end", func() bool { return !sessionAlive(t, e, tx.ConnID()) })
	if got := e.branches(t); !contains(got, ours("killed", e.id)) {
		t.Fatalf("XA RECOVER after KILL = %v, want the branch", got)
	}
	e.wantState(t, "killed", participant.StatePrepared)
	must(t, e.store.Commit(bg, "killed"))
	if a := e.value(t, "a"); a != 1 {
		t.Fatalf("a = %d after committing the killed session's branch", a)
	}

	tx, err = e.store.Begin(bg, "attached")
	must(t, err)
	e.put(t, tx, "b", 2)
	must(t, e.store.Prepare(bg, "attached", tx, time.Now().Add(time.Minute)))
	defer mysql.CloseSession(tx)
	if _, err := e.db.Exec("XA COMMIT " + xidSQL("attached", e.id)); err == nil {
		t.Fatal("XA COMMIT of a branch attached to a live session succeeded: the server detaches at prepare, this test proves nothing")
	}
	must(t, e.store.Commit(bg, "attached"))
	if b := e.value(t, "b"); b != 2 {
		t.Fatalf("b = %d after committing the attached branch", b)
	}
	if sessionAlive(t, e, tx.ConnID()) {
		t.Fatal("the session that held the branch is still alive")
	}
}

func sessionAlive(t *testing.T, e *env, id int64) bool {
	t.Helper()
	var n int
	must(t, e.db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?", id).Scan(&n))
	return n > 0
}

// A prepared XA branch that is not ours (another format ID, another
// participant) is left alone by Prepared, recovery and Commit/Abort of
// our IDs, and logged once however often it is seen.
func TestForeignXIDsAreLeftAlone(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	conn, err := e.db.Conn(bg)
	must(t, err)
	_, err = conn.ExecContext(bg, "XA START 'foreign-gtrid','b',1")
	must(t, err)
	_, err = conn.ExecContext(bg, "INSERT INTO accounts VALUES ('f', 1)")
	must(t, err)
	for _, q := range []string{"XA END 'foreign-gtrid','b',1", "XA PREPARE 'foreign-gtrid','b',1"} {
		_, err = conn.ExecContext(bg, q)
		must(t, err)
	}
	_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // end the session: detach the branch
	_ = conn.Close()
	defer operator(t, e, "XA ROLLBACK 'foreign-gtrid','b',1")

	core, logs := observer.New(zapcore.InfoLevel)
	e.store = e.open(t, mysql.Options{Logger: zap.New(core)})
	coord := fakecoord.Start(t)
	coord.SetResolve(arbiterpb.Outcome_OUTCOME_ABORT, 1)
	n := startNode(t, coord.Addr, e)
	for range 3 {
		p, err := e.store.Prepared(bg)
		must(t, err)
		if len(p) != 0 {
			t.Fatalf("Prepared = %+v, want nothing of ours", p)
		}
	}
	must(t, e.store.Abort(bg, "foreign-gtrid"))
	time.Sleep(200 * time.Millisecond) // a few recovery passes of the agent
	n.crash()
	if got := xaRecover(t, e.db); !contains(got, "1:foreign-gtrid:b") {
		t.Fatalf("XA RECOVER = %v: the foreign branch is gone", got)
	}
	if c := logs.FilterMessageSnippet("not Arbiter's").FilterField(zap.String("xid", `1:"foreign-gtrid":"b"`)).Len(); c != 1 {
		t.Fatalf("the foreign XID was logged %d times by one store, want once", c)
	}
	if a := e.value(t, "f"); a != -1 {
		t.Fatalf("the foreign branch's row is visible: %d", a)
	}
}

// The server is SIGKILLed and restarted under a running agent (its pool's
// connections all break): the prepared branch survives, and the
// coordinator's phase 2 arriving after the restart commits it through
// fresh connections.
func TestServerCrashUnderARunningAgent(t *testing.T) {
	srv := mysqltest.Start(t)
	e := newEnv(t, srv)
	n := startNode(t, fakecoord.Start(t).Addr, e)
	if r := n.prepare(t, "tx", "a=+9"); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("vote %v (%s)", r.GetVote(), r.GetReason())
	}
	must(t, srv.Crash())
	must(t, srv.Restart())
	if got := e.branches(t); !contains(got, ours("tx", e.id)) {
		t.Fatalf("XA RECOVER after the crash = %v, want the branch", got)
	}
	eventually(t, "phase 2 through the restarted server", func() bool { return n.decide("tx", true) == nil })
	if a := e.value(t, "a"); a != 9 {
		t.Fatalf("a = %d after commit, want 9", a)
	}
	if got := e.branches(t); len(got) != 0 {
		t.Fatalf("XA RECOVER = %v at the end", got)
	}
}
