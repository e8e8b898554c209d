package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

type pruner interface {
	PruneOutcomes(context.Context, time.Duration) (int, error)
}

// Pruning forgets decided transactions (committed and aborted) and never
// touches prepared work, however old.
func TestPruneOutcomesForgetsDecidedKeepsPrepared(t *testing.T) {
	s, _ := newStore(t)
	p, ok := any(s).(pruner)
	if !ok {
		t.Fatal("embedded.Store has no PruneOutcomes: every outcome record is kept forever (one row per transaction, unbounded disk)")
	}
	prepared(t, s, "c", "a", "1")
	must(t, s.Commit(ctx, "c"))
	must(t, s.Abort(ctx, "ab"))
	prepared(t, s, "in-doubt", "b", "1")
	time.Sleep(time.Millisecond)
	n, err := p.PruneOutcomes(ctx, time.Nanosecond)
	must(t, err)
	if n != 2 {
		t.Fatalf("PruneOutcomes deleted %d records, want 2", n)
	}
	wantState(t, s, "c", participant.StateNone)
	wantState(t, s, "ab", participant.StateNone)
	wantState(t, s, "in-doubt", participant.StatePrepared)
	wantValue(t, s, "a", "1")
}

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openClocked(t *testing.T, path string, clk *testClock) *Store {
	t.Helper()
	s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond, Now: clk.Now})
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func wantPruned(t *testing.T, s *Store, olderThan time.Duration, want int) {
	t.Helper()
	n, err := s.PruneOutcomes(ctx, olderThan)
	must(t, err)
	if n != want {
		t.Fatalf("PruneOutcomes(%v) deleted %d records, want %d", olderThan, n, want)
	}
}

// Age counts from the decision, not the prepare: work in doubt for longer
// than the retention keeps its outcome for the retention after its commit.
func TestPruneCountsFromTheDecision(t *testing.T) {
	clk := &testClock{now: time.Unix(1_700_000_000, 0)}
	s := openClocked(t, filepath.Join(t.TempDir(), "s.db"), clk)
	prepared(t, s, "early", "a", "1")
	must(t, s.Commit(ctx, "early"))
	prepared(t, s, "slow", "b", "1")
	clk.advance(2 * time.Hour)
	must(t, s.Commit(ctx, "slow"))
	must(t, s.Abort(ctx, "fresh"))
	clk.advance(30 * time.Minute)
	wantPruned(t, s, time.Hour, 1)
	wantState(t, s, "early", participant.StateNone)
	wantState(t, s, "slow", participant.StateCommitted)
	wantState(t, s, "fresh", participant.StateAborted)
	clk.advance(time.Hour)
	wantPruned(t, s, time.Hour, 2)
	if outs, _ := s.Outcomes(); len(outs) != 0 {
		t.Fatalf("outcomes left: %v", outs)
	}
	if _, err := s.PruneOutcomes(ctx, 0); err == nil {
		t.Fatal("PruneOutcomes with a zero retention succeeded")
	}
}

// A backlog larger than one batch is pruned whole, a batch per write.
func TestPruneOutcomesInBatches(t *testing.T) {
	clk := &testClock{now: time.Unix(1_700_000_000, 0)}
	s := openClocked(t, filepath.Join(t.TempDir(), "s.db"), clk)
	const n = 2*pruneBatch + 500
	must(t, s.db.Update(func(btx *bolt.Tx) error {
		for i := range n {
			if err := recordOutcome(btx, fmt.Sprintf("tx-%05d", i), outcomeAborted, clk.Now()); err != nil {
				return err
			}
		}
		return nil
	}))
	clk.advance(time.Hour)
	wantPruned(t, s, time.Minute, n)
	must(t, s.db.View(func(btx *bolt.Tx) error {
		if k, _ := btx.Bucket(bucketDecided).Cursor().First(); k != nil {
			t.Fatalf("decided index still holds %q", k)
		}
		return nil
	}))
}

// Outcome records written before pruning existed (the outcome byte alone)
// are stamped with the time of the Open that finds them: kept for a
// retention from then, then pruned.
func TestLegacyOutcomesAreStampedAtOpen(t *testing.T) {
	clk := &testClock{now: time.Unix(1_700_000_000, 0)}
	path := filepath.Join(t.TempDir(), "s.db")
	s := openClocked(t, path, clk)
	must(t, s.db.Update(func(btx *bolt.Tx) error {
		for _, id := range []string{"legacy-c", "legacy-a"} {
			if err := btx.Bucket(bucketOutcomes).Put([]byte(id), []byte{id[len(id)-1] - 'a' + 'A'}); err != nil {
				return err
			}
		}
		return btx.Bucket(bucketMeta).Delete(keyStamped)
	}))
	must(t, s.Close())
	clk.advance(time.Hour)
	s = openClocked(t, path, clk)
	wantState(t, s, "legacy-c", participant.StateCommitted)
	wantState(t, s, "legacy-a", participant.StateAborted)
	clk.advance(30 * time.Minute)
	wantPruned(t, s, time.Hour, 0)
	clk.advance(time.Hour)
	wantPruned(t, s, time.Hour, 2)
}

// TestOutcomeRecordDiskCost measures what one outcome record costs on disk
// (the outcomes record and its decided index entry, tx IDs as the client
// SDK makes them: 32 hex digits) and prints it with the figure for the
// retention at 1k tx/s. Run with -v to read it; DESIGN.md quotes it.
func TestOutcomeRecordDiskCost(t *testing.T) {
	clk := &testClock{now: time.Unix(1_700_000_000, 0)}
	s := openClocked(t, filepath.Join(t.TempDir(), "s.db"), clk)
	const n = 50000
	for batch := 0; batch < n; batch += 5000 {
		must(t, s.db.Update(func(btx *bolt.Tx) error {
			for i := batch; i < batch+5000; i++ {
				clk.advance(time.Millisecond) // 1k tx/s
				id := fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
				if err := recordOutcome(btx, id, outcomeCommitted, clk.Now()); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	var bytes int
	must(t, s.db.View(func(btx *bolt.Tx) error {
		for _, b := range [][]byte{bucketOutcomes, bucketDecided} {
			st := btx.Bucket(b).Stats()
			bytes += st.BranchAlloc + st.LeafAlloc
		}
		return nil
	}))
	per := float64(bytes) / n
	window := 15 * time.Minute
	records := 1000 * window.Seconds()
	t.Logf("outcome record on disk: %.0f bytes (outcomes + decided index pages); at 1k tx/s a %v window holds %.0f records = %.0f MB",
		per, window, records, per*records/1e6)
	if per > 256 {
		t.Fatalf("an outcome record takes %.0f bytes on disk, more than the 256 budgeted", per)
	}
}
