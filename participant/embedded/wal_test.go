package embedded

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// Each prepare, commit, abort, one-phase commit and term raise, alone,
// costs exactly one fdatasync; a retried decision costs none.
func TestOneFdatasyncPerWrite(t *testing.T) {
	s, _ := newStore(t)
	steps := []struct {
		name  string
		do    func() error
		syncs int64
	}{
		{"prepare", func() error { return s.Prepare(ctx, "a", beginPut(t, s, "a", "ka", "1"), time.Now().Add(time.Minute)) }, 1},
		{"commit", func() error { return s.Commit(ctx, "a") }, 1},
		{"retried commit", func() error { return s.Commit(ctx, "a") }, 0},
		{"abort", func() error { return s.Abort(ctx, "b") }, 1},
		{"retried abort", func() error { return s.Abort(ctx, "b") }, 0},
		{"one-phase commit", func() error { return s.CommitOnePhase(ctx, "c", beginPut(t, s, "c", "kc", "1")) }, 1},
		{"term raise", func() error { return s.SetTerm(ctx, 7) }, 1},
		{"stale term", func() error { return s.SetTerm(ctx, 3) }, 0},
	}
	for _, st := range steps {
		before := s.log.syncs.Load()
		must(t, st.do())
		if got := s.log.syncs.Load() - before; got != st.syncs {
			t.Errorf("%s: %d fdatasyncs, want %d", st.name, got, st.syncs)
		}
	}
}

// Concurrent writers share fdatasyncs: 64 transactions prepared and
// committed at once take far fewer than one per write.
func TestConcurrentWritesShareFdatasyncs(t *testing.T) {
	s, _ := newStore(t)
	before := s.log.syncs.Load()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := crashTx(i)
			if err := s.Prepare(ctx, id, beginPut(t, s, id, crashKey(i), "v"), time.Now().Add(time.Minute)); err != nil {
				t.Error(err)
				return
			}
			if err := s.Commit(ctx, id); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	syncs := s.log.syncs.Load() - before
	t.Logf("128 writes from 64 goroutines: %d fdatasyncs", syncs)
	if syncs >= 128 {
		t.Fatalf("%d fdatasyncs for 128 concurrent writes: no group commit", syncs)
	}
}

// Big writes fill segments (rotations take the spare); checkpoints apply
// them and delete the full ones; Close removes the spare; everything
// survives a reopen.
func TestCheckpointDeletesSegments(t *testing.T) {
	s, path := newStore(t)
	big := string(bytes.Repeat([]byte("x"), 1<<20))
	for i := range 10 {
		id := crashTx(i)
		must(t, s.CommitOnePhase(ctx, id, beginPut(t, s, id, crashKey(i), big)))
	}
	segs, err := listSegments(logDir(path))
	must(t, err)
	if segs[len(segs)-1] == 1 { // background checkpoints may have deleted the full ones
		t.Fatal("10 MiB of writes are still in the first segment: the test did not rotate")
	}
	must(t, s.checkpoint())
	if segs, _ = listSegments(logDir(path)); len(segs) != 1 {
		t.Fatalf("%d segments after a checkpoint, want only the active one", len(segs))
	}
	must(t, s.Close())
	if _, err := os.Stat(filepath.Join(logDir(path), "spare.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spare segment left after Close: %v", err)
	}
	s = openStore(t, path)
	defer s.Close()
	for i := range 10 {
		wantState(t, s, crashTx(i), participant.StateCommitted)
	}
}

// crashClose drops the store as a crash would: no checkpoint, the log's
// records stay unapplied.
func crashClose(t *testing.T, s *Store) {
	t.Helper()
	s.closeOnce.Do(func() {
		s.group.close()
		stopCheckpoints(s)
		must(t, s.log.close())
		must(t, s.db.Close())
	})
}

// stopCheckpoints stops the background checkpoints (idempotent).
func stopCheckpoints(s *Store) {
	select {
	case <-s.ckQuit:
	default:
		close(s.ckQuit)
	}
	s.ckWG.Wait()
}

// Damage to a record of a sealed segment (acknowledged, so not a torn
// tail) refuses the open with ErrCorruptLog and leaves every file as it
// was.
func TestCorruptSealedSegmentRefusesToOpen(t *testing.T) {
	s, path := newStore(t)
	stopCheckpoints(s) // keep the sealed segment's records unapplied
	big := string(bytes.Repeat([]byte("x"), 1<<20))
	for i := range 6 {
		id := crashTx(i)
		must(t, s.CommitOnePhase(ctx, id, beginPut(t, s, id, crashKey(i), big)))
	}
	crashClose(t, s)
	segs, err := listSegments(logDir(path))
	must(t, err)
	if len(segs) < 2 {
		t.Fatalf("%d segment(s), want a sealed one", len(segs))
	}
	first := filepath.Join(logDir(path), segName(segs[0]))
	b, err := os.ReadFile(first)
	must(t, err)
	b[recHeaderLen+100] ^= 0xff // inside the first record
	must(t, os.WriteFile(first, b, 0o600))
	before := snapshotDir(t, filepath.Dir(path))
	if _, err := Open(path, Options{}); !errors.Is(err, ErrCorruptLog) {
		t.Fatalf("open with a damaged sealed segment: %v, want ErrCorruptLog", err)
	}
	if after := snapshotDir(t, filepath.Dir(path)); !equalSnapshots(before, after) {
		t.Fatal("the refused open changed the store's files")
	}
}

// Records written and never checkpointed (a crash) are replayed at Open:
// prepared work is prepared again with its locks, decisions are applied.
func TestReplayAfterCrash(t *testing.T) {
	s, path := newStore(t)
	prepared(t, s, "p", "kp", "vp")
	prepared(t, s, "c", "kc", "vc")
	must(t, s.Commit(ctx, "c"))
	must(t, s.Abort(ctx, "a"))
	must(t, s.SetTerm(ctx, 9))
	crashClose(t, s)
	s = openStore(t, path)
	defer s.Close()
	wantState(t, s, "p", participant.StatePrepared)
	wantState(t, s, "c", participant.StateCommitted)
	wantState(t, s, "a", participant.StateAborted)
	wantValue(t, s, "kc", "vc")
	wantValue(t, s, "kp", "")
	term, err := s.Term(ctx)
	must(t, err)
	if term != 9 {
		t.Fatalf("term %d after replay, want 9", term)
	}
	tx, err := s.Begin(ctx, "probe")
	must(t, err)
	if _, _, err := tx.Get(ctx, "kp"); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("key of the replayed prepared tx: %v, want its lock held", err)
	}
	must(t, s.Rollback(ctx, "probe", tx))
}

func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	must(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	}))
	return out
}

func equalSnapshots(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// A crash after recovery applied the log to bbolt but before it deleted
// the segments: the next Open skips every record bbolt already holds
// (meta log-applied), so nothing is applied twice (a second Commit record
// would find no intent and fail the open).
func TestReplayAfterAppliedIsSkipped(t *testing.T) {
	s, path := newStore(t)
	prepared(t, s, "c", "kc", "vc")
	must(t, s.Commit(ctx, "c"))
	must(t, s.Abort(ctx, "a"))
	prepared(t, s, "p", "kp", "vp")
	crashClose(t, s)

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	must(t, err)
	recs, err := scanLog(logDir(path), 0)
	must(t, err)
	must(t, replay(db, recs)) // recovery's apply, then "crash": segments stay
	must(t, db.Close())

	s = openStore(t, path)
	defer s.Close()
	wantState(t, s, "c", participant.StateCommitted)
	wantState(t, s, "a", participant.StateAborted)
	wantState(t, s, "p", participant.StatePrepared)
	wantValue(t, s, "kc", "vc")
	must(t, s.Commit(ctx, "p"))
	wantValue(t, s, "kp", "vp")
}

// An outcome pruned after its record was checkpointed stays pruned across
// a crash, although the active segment still holds the record: replay
// skips what bbolt already applied.
func TestPrunedOutcomeStaysPrunedAfterCrash(t *testing.T) {
	clk := &testClock{now: time.Unix(1_700_000_000, 0)}
	path := filepath.Join(t.TempDir(), "s.db")
	s := openClocked(t, path, clk)
	must(t, s.Abort(ctx, "a"))
	clk.advance(time.Hour)
	wantPruned(t, s, time.Minute, 1) // checkpoints, then prunes
	s.ov.mu.RLock()
	n := len(s.ov.pending)
	s.ov.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d records left unapplied after the prune's checkpoint", n)
	}
	crashClose(t, s)
	s = openClocked(t, path, clk)
	wantState(t, s, "a", participant.StateNone)
}

// ReadAll stays a consistent snapshot while commits land in the overlay
// and checkpoints move them to bbolt: three accounts that transfers move
// money around (a->b, b->c, c->a: each commit touches two, so a snapshot
// mixing two instants shows a wrong total) always sum to the same total.
func TestSnapshotsConsistentAcrossCheckpoints(t *testing.T) {
	s, _ := newStore(t)
	accts := []string{"a", "b", "c"}
	for _, k := range accts {
		must(t, s.CommitOnePhase(ctx, "seed-"+k, beginPut(t, s, "seed-"+k, k, "1000")))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // checkpoints as often as they can run
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if err := s.checkpoint(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			all, err := s.ReadAll()
			if err != nil {
				t.Error(err)
				return
			}
			total := 0
			for _, k := range accts {
				n, err := strconv.Atoi(string(all[k]))
				if err != nil {
					t.Errorf("ReadAll: %s = %q", k, all[k])
					return
				}
				total += n
			}
			if total != 3000 {
				t.Errorf("ReadAll: a+b+c = %d, want 3000: %q", total, all)
				return
			}
		}
	}()
	for i := range 90 {
		transfer(t, s, crashTx(i), accts[i%3], accts[(i+1)%3])
	}
	close(stop)
	wg.Wait()
	for _, k := range accts {
		wantValue(t, s, k, "1000") // 30 rounds of the cycle
	}
}

// transfer moves 1 from key from to key to in transaction id.
func transfer(t *testing.T, s *Store, id, from, to string) {
	t.Helper()
	tx, err := s.Begin(ctx, id)
	must(t, err)
	for k, d := range map[string]int{from: -1, to: 1} {
		v, _, err := tx.Get(ctx, k)
		must(t, err)
		must(t, tx.Put(ctx, k, []byte(strconv.Itoa(atoi(t, v)+d))))
	}
	must(t, s.Prepare(ctx, id, tx, time.Now().Add(time.Minute)))
	must(t, s.Commit(ctx, id))
}

func atoi(t *testing.T, b []byte) int {
	t.Helper()
	n, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("not a number: %q", b)
	}
	return n
}
