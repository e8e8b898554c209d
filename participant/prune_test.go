package participant_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// pruneProbe records the retention of every PruneOutcomes call the agent
// makes, and prunes nothing.
type pruneProbe struct {
	participant.Resource[*embedded.Tx]
	mu    sync.Mutex
	calls []time.Duration
}

func (p *pruneProbe) PruneOutcomes(_ context.Context, olderThan time.Duration) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, olderThan)
	return 0, nil
}

func (p *pruneProbe) last() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		return 0, false
	}
	return p.calls[len(p.calls)-1], true
}

func (p *pruneProbe) wrap(s *embedded.Store) participant.Resource[*embedded.Tx] {
	p.Resource = s
	return p
}

// startPruneProbe starts a node whose coordinator announces window, with
// the agent's prune interval cut to 10 ms and tweaks applied.
func startPruneProbe(t *testing.T, window time.Duration, tweaks ...func(*participant.Config)) (*pruneProbe, *node) {
	t.Helper()
	coord := fakecoord.StartTLS(t)
	coord.SetWindow(window)
	p := &pruneProbe{}
	fast := func(c *participant.Config) {
		c.ResolveInterval = 10 * time.Millisecond
		c.OutcomePruneInterval = 10 * time.Millisecond
	}
	n := startNodeWith(t, coord, t.TempDir(), nodeSetup{wrap: p.wrap}, append([]func(*participant.Config){fast}, tweaks...)...)
	return p, n
}

// The agent learns the coordinators' uniqueness window at Register and
// prunes its Resource's outcome records with it.
func TestAgentPrunesWithTheLearnedWindow(t *testing.T) {
	p, n := startPruneProbe(t, time.Hour)
	eventually(t, "the agent to prune outcome records", func() bool { _, ok := p.last(); return ok })
	if got, _ := p.last(); got != time.Hour || n.agent.OutcomeRetention() != time.Hour {
		t.Fatalf("PruneOutcomes(olderThan %v), OutcomeRetention %v; want the coordinators' window (1h)", got, n.agent.OutcomeRetention())
	}
}

// A configured retention shorter than the coordinators' window is raised
// to the window, with a warning; a longer one is kept.
func TestConfiguredRetentionIsRaisedToTheWindow(t *testing.T) {
	for _, tc := range []struct {
		configured, window, want time.Duration
		warned                   bool
	}{
		{time.Minute, time.Hour, time.Hour, true},
		{2 * time.Hour, time.Hour, 2 * time.Hour, false},
		{time.Minute, 0, time.Minute, false},
	} {
		p, n := startPruneProbe(t, tc.window, func(c *participant.Config) { c.OutcomeRetention = tc.configured })
		eventually(t, "the agent to prune outcome records", func() bool { _, ok := p.last(); return ok })
		if got, _ := p.last(); got != tc.want {
			t.Errorf("retention %v with window %v: PruneOutcomes(%v), want %v", tc.configured, tc.window, got, tc.want)
		}
		if warned := n.logs.FilterMessageSnippet("raised to the window").Len() > 0; warned != tc.warned {
			t.Errorf("retention %v with window %v: warning logged %v, want %v", tc.configured, tc.window, warned, tc.warned)
		}
	}
}

// clock is a settable time source for the store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// The agent prunes the embedded store by the coordinators' window: an
// outcome decided longer ago is gone, and a one-shot retried within the
// window still finds its outcome (COMMITTED, the payload not run again).
func TestPruneThenRetriedOneShotFindsItsOutcome(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	coord.SetWindow(time.Hour)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	n := startNodeWith(t, coord, t.TempDir(), nodeSetup{now: clk.Now}, func(c *participant.Config) {
		c.OutcomePruneInterval = 10 * time.Millisecond
	})
	oneShot := func(txID, payload string) *arbiterpb.PrepareResponse {
		t.Helper()
		r, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: txID, Payload: []byte(payload), OnePhase: true, Term: 1,
			DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()})
		if err != nil {
			t.Fatalf("one-shot %s: %v", txID, err)
		}
		return r
	}
	oneShot("old", "a=1")
	clk.advance(2 * time.Hour)
	oneShot("recent", "b=1")
	clk.advance(30 * time.Minute)
	eventually(t, "the agent to prune the record older than the window", func() bool {
		return n.state(t, "old") == participant.StateNone
	})
	calls := n.calls.Load()
	if r := oneShot("recent", "b=2"); r.GetVote() != arbiterpb.Vote_VOTE_COMMITTED || n.calls.Load() != calls {
		t.Fatalf("retried one-shot within the window: vote %v, handler runs %d -> %d; want COMMITTED, not run again",
			r.GetVote(), calls, n.calls.Load())
	}
	if v, _, _ := n.store.Read("b"); string(v) != "1" {
		t.Fatalf("b = %q, want 1", v)
	}
}
