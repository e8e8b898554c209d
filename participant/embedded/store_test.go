package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func openStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	s := openStore(t, path)
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// prepared begins txID, puts kv pairs and prepares it.
func prepared(t *testing.T, s *Store, txID string, kv ...string) {
	t.Helper()
	tx, err := s.Begin(ctx, txID)
	must(t, err)
	for i := 0; i < len(kv); i += 2 {
		must(t, tx.Put(ctx, kv[i], []byte(kv[i+1])))
	}
	must(t, s.Prepare(ctx, txID, tx, time.Now().Add(time.Minute)))
}

func wantValue(t *testing.T, s *Store, key, want string) {
	t.Helper()
	v, ok, err := s.Read(key)
	must(t, err)
	if want == "" && ok || want != "" && string(v) != want {
		t.Fatalf("Read(%q) = %q, %v; want %q", key, v, ok, want)
	}
}

func wantState(t *testing.T, s *Store, txID string, want participant.State) {
	t.Helper()
	st, err := s.State(ctx, txID)
	must(t, err)
	if st != want {
		t.Fatalf("State(%s) = %v, want %v", txID, st, want)
	}
}

func TestPutGetSeesOwnWrites(t *testing.T) {
	s, _ := newStore(t)
	tx, err := s.Begin(ctx, "t1")
	must(t, err)
	must(t, tx.Put(ctx, "a", []byte("1")))
	v, ok, err := tx.Get(ctx, "a")
	if err != nil || !ok || string(v) != "1" {
		t.Fatalf("Get = %q, %v, %v", v, ok, err)
	}
	wantValue(t, s, "a", "")
	must(t, s.Rollback(ctx, "t1", tx))
	wantValue(t, s, "a", "")
	wantState(t, s, "t1", participant.StateNone)
}

func TestLockConflictWaitsThenTimesOut(t *testing.T) {
	s, _ := newStore(t)
	t1, _ := s.Begin(ctx, "t1")
	t2, _ := s.Begin(ctx, "t2")
	must(t, t1.Put(ctx, "k", []byte("1")))
	start := time.Now()
	if _, _, err := t2.Get(ctx, "k"); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Get on locked key = %v, want ErrLockTimeout", err)
	}
	if time.Since(start) < 90*time.Millisecond {
		t.Fatal("did not wait for the lock timeout")
	}
	done := make(chan error, 1)
	go func() { done <- t2.Put(ctx, "k", []byte("2")) }()
	time.Sleep(20 * time.Millisecond)
	must(t, s.Rollback(ctx, "t1", t1))
	if err := <-done; err != nil {
		t.Fatalf("waiter after release: %v", err)
	}
	must(t, s.Rollback(ctx, "t2", t2))
}

func TestPreparedLocksSurviveReopen(t *testing.T) {
	s, path := newStore(t)
	prepared(t, s, "t1", "k", "v")
	must(t, s.Close())
	s = openStore(t, path)
	defer s.Close()
	t2, _ := s.Begin(ctx, "t2")
	if err := t2.Put(ctx, "k", []byte("x")); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Put on key of a prepared tx after reopen = %v, want ErrLockTimeout", err)
	}
	wantState(t, s, "t1", participant.StatePrepared)
	must(t, s.Commit(ctx, "t1"))
	must(t, t2.Put(ctx, "k", []byte("x")))
	must(t, s.Rollback(ctx, "t2", t2))
	wantValue(t, s, "k", "v")
}

func TestCommitAppliesAtomically(t *testing.T) {
	s, _ := newStore(t)
	prepared(t, s, "t1", "a", "1", "b", "2")
	wantValue(t, s, "a", "")
	must(t, s.Commit(ctx, "t1"))
	all, err := s.ReadAll()
	must(t, err)
	if len(all) != 2 || string(all["a"]) != "1" || string(all["b"]) != "2" {
		t.Fatalf("ReadAll = %v", all)
	}
	wantState(t, s, "t1", participant.StateCommitted)
	if p, _ := s.Prepared(ctx); len(p) != 0 {
		t.Fatalf("Prepared after commit = %v", p)
	}
}

func TestAbortDiscardsAndRefusesLatePrepare(t *testing.T) {
	s, _ := newStore(t)
	prepared(t, s, "t1", "a", "1")
	must(t, s.Abort(ctx, "t1"))
	wantValue(t, s, "a", "")
	wantState(t, s, "t1", participant.StateAborted)

	must(t, s.Abort(ctx, "never-seen"))
	tx, err := s.Begin(ctx, "never-seen")
	if !errors.Is(err, participant.ErrAlreadyAborted) {
		t.Fatalf("Begin after abort = %v", err)
	}
	tx, _ = s.Begin(ctx, "late")
	must(t, tx.Put(ctx, "a", []byte("2")))
	must(t, s.Abort(ctx, "late"))
	if err := s.Prepare(ctx, "late", tx, time.Now()); !errors.Is(err, participant.ErrAlreadyAborted) {
		t.Fatalf("late Prepare = %v, want ErrAlreadyAborted", err)
	}
	must(t, s.Rollback(ctx, "late", tx))
	wantValue(t, s, "a", "")
}

func TestCommitAbortIdempotent(t *testing.T) {
	s, _ := newStore(t)
	prepared(t, s, "c", "a", "1")
	must(t, s.Commit(ctx, "c"))
	must(t, s.Commit(ctx, "c"))
	if err := s.Abort(ctx, "c"); !errors.Is(err, participant.ErrAlreadyCommitted) {
		t.Fatalf("Abort after commit = %v", err)
	}
	prepared(t, s, "a", "b", "1")
	must(t, s.Abort(ctx, "a"))
	must(t, s.Abort(ctx, "a"))
	if err := s.Commit(ctx, "a"); !errors.Is(err, participant.ErrAlreadyAborted) {
		t.Fatalf("Commit after abort = %v", err)
	}
	if err := s.Commit(ctx, "none"); !errors.Is(err, participant.ErrNotPrepared) {
		t.Fatalf("Commit of unknown tx = %v", err)
	}
}

func TestCommitAfterReopen(t *testing.T) {
	s, path := newStore(t)
	prepared(t, s, "t1", "a", "1")
	deadline := time.Now().Add(time.Minute)
	must(t, s.Close())
	s = openStore(t, path)
	defer s.Close()
	p, err := s.Prepared(ctx)
	must(t, err)
	if len(p) != 1 || p[0].TxID != "t1" || p[0].Deadline.After(deadline) {
		t.Fatalf("Prepared after reopen = %v", p)
	}
	must(t, s.Commit(ctx, "t1"))
	wantValue(t, s, "a", "1")
}

func TestTermPersisted(t *testing.T) {
	s, path := newStore(t)
	must(t, s.SetTerm(ctx, 5))
	must(t, s.SetTerm(ctx, 3))
	must(t, s.Close())
	s = openStore(t, path)
	defer s.Close()
	if term, err := s.Term(ctx); err != nil || term != 5 {
		t.Fatalf("Term = %d, %v; want 5", term, err)
	}
}
