package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant/postgres"
	"github.com/jackc/pgx/v5/pgconn"
)

// A row updated by a prepared transaction stays locked until COMMIT
// PREPARED: a second writer waits, gives up after lock_timeout (55P03), or
// proceeds on the committed value once the decision is applied.
func TestPreparedRowLockBlocksUntilCommit(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	s := e.open(t, postgres.Options{LockTimeout: time.Second})
	e.store = s
	_, err := e.pool.Exec(bg, "INSERT INTO "+e.accounts()+" VALUES ('a', 0)")
	must(t, err)
	e.prepared(t, "t1", "a", 10)

	tx2, err := s.Begin(bg, "t2")
	must(t, err)
	start := time.Now()
	_, err = tx2.Exec(bg, "UPDATE "+e.accounts()+" SET n = n + 1 WHERE id = 'a'")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55P03" || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("UPDATE of a prepared row = %v after %v, want lock_timeout (55P03) after 1s", err, time.Since(start))
	}
	must(t, s.Rollback(bg, "t2", tx2))

	tx3, err := s.Begin(bg, "t3")
	must(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := tx3.Exec(bg, "UPDATE "+e.accounts()+" SET n = n + 1 WHERE id = 'a'")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("UPDATE did not wait for the prepared transaction: %v", err)
	default:
	}
	must(t, s.Commit(bg, "t1"))
	must(t, <-done)
	must(t, s.Prepare(bg, "t3", tx3, time.Now().Add(time.Minute)))
	must(t, s.Commit(bg, "t3"))
	if v := e.value(t, "a"); v != 11 {
		t.Fatalf("a = %d, want 11 (the update on top of the committed 10)", v)
	}
}

// N concurrent increments of one row, each through Begin, Prepare and
// Commit, with a short lock_timeout: the losers of a lock wait vote no and
// retry under a new transaction ID. Nothing deadlocks, nothing is lost.
func TestConcurrentIncrementsNoLostUpdate(t *testing.T) {
	const workers = 12
	e := newEnv(t, sharedServer(t).DSN)
	s := e.open(t, postgres.Options{LockTimeout: 100 * time.Millisecond})
	_, err := e.pool.Exec(bg, "INSERT INTO "+e.accounts()+" VALUES ('c', 0)")
	must(t, err)
	var retries atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for try := 0; ; try++ {
				txID := fmt.Sprintf("inc-%d-%d", w, try)
				if err := increment(e, s, txID); err == nil {
					return
				} else if try > 200 {
					t.Errorf("worker %d gave up: %v", w, err)
					return
				}
				retries.Add(1)
			}
		})
	}
	wg.Wait()
	if retries.Load() == 0 {
		t.Error("no lock wait timed out: the test did not exercise lock_timeout")
	}
	if v := e.value(t, "c"); v != workers {
		t.Fatalf("counter = %d after %d committed increments, want %d", v, workers, workers)
	}
	t.Logf("%d increments, %d retries after lock timeouts", workers, retries.Load())
	if p, _ := s.Prepared(bg); len(p) != 0 {
		t.Fatalf("left prepared: %v", p)
	}
}

// increment does one increment as the agent would: on any error before the
// yes vote, roll back and write the abort tombstone.
func increment(e *env, s *postgres.Store, txID string) error {
	tx, err := s.Begin(bg, txID)
	if err != nil {
		return err
	}
	_, err = tx.Exec(bg, "UPDATE "+e.accounts()+" SET n = n + 1 WHERE id = 'c'")
	if err == nil {
		err = s.Prepare(bg, txID, tx, time.Now().Add(time.Minute))
	}
	if err != nil {
		_ = s.Rollback(bg, txID, tx)
		return errors.Join(err, s.Abort(bg, txID))
	}
	time.Sleep(300 * time.Millisecond) // the decision arrives after lock_timeout
	return s.Commit(bg, txID)
}

// A lock wait ends before the caller's deadline with lock_timeout (55P03),
// even when Options.LockTimeout is longer: the agent can then vote no and
// write its tombstone instead of running into the coordinator's Prepare
// deadline with a broken connection.
func TestLockWaitEndsBeforeTheCallersDeadline(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	s := e.open(t, postgres.Options{LockTimeout: 10 * time.Second})
	e.store = s
	_, err := e.pool.Exec(bg, "INSERT INTO "+e.accounts()+" VALUES ('a', 0)")
	must(t, err)
	e.prepared(t, "holder", "a", 1)

	ctx, cancel := context.WithTimeout(bg, 2*time.Second)
	defer cancel()
	tx, err := s.Begin(ctx, "waiter")
	must(t, err)
	start := time.Now()
	_, err = tx.Exec(ctx, "UPDATE "+e.accounts()+" SET n = n + 1 WHERE id = 'a'")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55P03" || ctx.Err() != nil {
		t.Fatalf("UPDATE of a prepared row = %v after %v (ctx: %v), want lock_timeout (55P03) before the 2s deadline",
			err, time.Since(start), ctx.Err())
	}
	must(t, s.Rollback(ctx, "waiter", tx))
	must(t, s.Abort(ctx, "waiter")) // the tombstone can still be written
	must(t, s.Commit(bg, "holder"))
}
