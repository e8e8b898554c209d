package coordinator_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Issue 14 item 2: per-participant isolation. The leader alone is cut from
// bank b (transfers off, so the leader keeps leading through the cut);
// transactions over a and c, which the leader reaches, must not be slowed
// by those over b and d that are stuck on b (no shared data: the two
// streams touch different participants). Before the fail-fast and the
// per-participant health view, the b-d stream held its runs until their
// deadline; that never blocked a-c either, so this guards the isolation
// rather than showing a fix.
func TestCutParticipantDoesNotSlowOthers(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) { cfg.TransferRounds = 0 })
	a, b, cc, d := c.addParticipant("a"), c.addParticipant("b"), c.addParticipant("c"), c.addParticipant("d")
	leader := c.waitLeader()
	waitAllReach(t, c, "a", "b", "c", "d")
	cli := leaderClient(t, c)
	measure := func(n int, p, q *testParticipant) []time.Duration {
		var out []time.Duration
		for range n {
			resp, took := commitRaw(t, c, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, p.branch(-1), q.branch(1))
			if resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
				t.Fatalf("%s-%s: %v (%s)", p.id, q.id, resp.GetOutcome(), resp.GetReason())
			}
			out = append(out, took)
		}
		return out
	}
	before := measure(10, a, cc)

	c.links.set(leader.id, true, b.addr)
	var wg sync.WaitGroup
	var stuck []time.Duration
	var outcomes []arbiterpb.Outcome
	var mu sync.Mutex
	for range 3 { // the b-d stream, in parallel with the measurement
		wg.Go(func() {
			for range 3 {
				resp, took, err := commitOn(cli, arbiterpb.CommitMode_COMMIT_MODE_STANDARD, b.branch(-1), d.branch(1))
				if err != nil {
					t.Errorf("b-d commit: %v", err)
					return
				}
				mu.Lock()
				stuck, outcomes = append(stuck, took), append(outcomes, resp.GetOutcome())
				mu.Unlock()
			}
		})
	}
	during := measure(10, a, cc)
	wg.Wait()
	c.links.set(leader.id, false, b.addr)

	p := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(q*float64(len(s)-1))]
	}
	t.Logf("a-c commits: before the cut p50 %v max %v; during p50 %v max %v; b-d during: max %v, outcomes %v",
		p(before, 0.5), p(before, 1), p(during, 0.5), p(during, 1), p(stuck, 1), outcomes)
	if max := p(during, 1); max > 500*time.Millisecond && max > 5*p(before, 1) {
		t.Errorf("a-c commits took up to %v during the cut of b (before: up to %v): slowed by b", max, p(before, 1))
	}
	if slices.Contains(outcomes, arbiterpb.Outcome_OUTCOME_COMMIT) {
		t.Errorf("a b-d transaction committed although the leader cannot reach b: %v", outcomes)
	}
	if p(stuck, 1) > 4*time.Second {
		t.Errorf("b-d transactions took up to %v: not failed fast", p(stuck, 1))
	}
}
