package mysql_test

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
)

// GC deletes outcome records decided longer ago than the retention, never
// the marker of a prepared branch (invisible, and not waited on), and the
// marker of a branch in doubt for long is aged from its commit.
func TestPruneOutcomesByDecisionTime(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	must(t, e.store.Abort(bg, "old-abort"))
	e.prepared(t, "old-commit", "a", 1)
	must(t, e.store.Commit(bg, "old-commit"))
	e.prepared(t, "in-doubt", "b", 1)
	n, err := e.store.PruneOutcomes(bg, time.Hour)
	must(t, err)
	if n != 0 {
		t.Fatalf("pruned %d records younger than the retention", n)
	}
	time.Sleep(1100 * time.Millisecond)
	start := time.Now()
	n, err = e.store.PruneOutcomes(bg, time.Second)
	must(t, err)
	if n != 2 || time.Since(start) > 2*time.Second {
		t.Fatalf("pruned %d records in %v, want the old abort and the old commit, without waiting on the prepared branch", n, time.Since(start))
	}
	e.wantState(t, "old-abort", participant.StateNone)
	e.wantState(t, "in-doubt", participant.StatePrepared)
	must(t, e.store.Commit(bg, "in-doubt"))
	n, err = e.store.PruneOutcomes(bg, time.Second) // stamps the marker now: too young
	must(t, err)
	if n != 0 {
		t.Fatalf("pruned %d, want 0: the in-doubt marker is aged from its commit", n)
	}
	e.wantState(t, "in-doubt", participant.StateCommitted)
}
