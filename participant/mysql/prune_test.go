package mysql_test

import (
	"fmt"
	"strings"
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

// A backlog larger than one batch (1000 rows per statement) is pruned
// whole, the young records kept, and markers committed long ago but never
// stamped are stamped first (and so kept for the retention from now).
func TestPruneOutcomesInBatches(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	var b strings.Builder
	b.WriteString("INSERT INTO arbiter_outcomes (participant, tx_id, outcome, recorded_at, decided_at) VALUES ")
	for i := range 2500 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "('%s', 'old-%d', 'A', NOW(6) - INTERVAL 2 HOUR, NOW(6) - INTERVAL 2 HOUR)", e.id, i)
	}
	for i := range 1200 {
		fmt.Fprintf(&b, ", ('%s', 'unstamped-%d', 'C', NOW(6) - INTERVAL 2 HOUR, NULL)", e.id, i)
	}
	_, err := e.db.Exec(b.String())
	must(t, err)
	must(t, e.store.Abort(bg, "young"))
	n, err := e.store.PruneOutcomes(bg, time.Hour)
	must(t, err)
	if n != 2500 {
		t.Fatalf("pruned %d, want the 2500 old tombstones", n)
	}
	var left, stamped int
	must(t, e.db.QueryRow("SELECT COUNT(*), COUNT(decided_at) FROM arbiter_outcomes WHERE participant = ?", e.id).Scan(&left, &stamped))
	if left != 1201 || stamped != 1201 {
		t.Fatalf("%d records left (%d stamped), want 1201: the young tombstone and the 1200 markers, all stamped", left, stamped)
	}
	e.wantState(t, "young", participant.StateAborted)
	e.wantState(t, "unstamped-1199", participant.StateCommitted)
}
