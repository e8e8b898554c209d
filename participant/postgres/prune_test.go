package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
)

// The store prunes for the agent (participant.OutcomePruner): markers and
// tombstones whose outcome is older than the retention go, in batches, and
// younger ones stay.
func TestPruneOutcomesInBatches(t *testing.T) {
	e := newEnv(t, sharedServer(t).DSN)
	p, ok := any(e.store).(interface {
		PruneOutcomes(context.Context, time.Duration) (int, error)
	})
	if !ok {
		t.Fatal("postgres.Store has no PruneOutcomes: the agent cannot prune its outcome records by the coordinators' window")
	}
	const old = 2500 // more than one batch
	_, err := e.pool.Exec(bg, "INSERT INTO "+e.schema+`.arbiter_outcomes (participant, tx_id, outcome, recorded_at, decided_at)
		SELECT $1, 'old-' || i, 'A', now() - interval '2 hours', now() - interval '2 hours' FROM generate_series(1, $2) i`, e.id, old)
	must(t, err)
	must(t, e.store.Abort(bg, "recent"))
	n, err := p.PruneOutcomes(bg, time.Hour)
	must(t, err)
	if n != old {
		t.Fatalf("PruneOutcomes deleted %d rows, want %d", n, old)
	}
	e.wantState(t, "old-1", participant.StateNone)
	e.wantState(t, "recent", participant.StateAborted)
}
