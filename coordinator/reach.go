package coordinator

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Participant reachability as a leadership input (issue 14). A leader cut
// from participants that its followers still reach stalls every
// transaction that touches them, although a follower one leadership
// transfer away could serve them. So the leader, when its own view
// (health.go) says some registered participants are down (one it has not
// probed yet is not), compares what it and each follower reach *now*: it asks every follower
// to probe the participants afresh (Cluster with probe_participants), and
// then probes again those it misses itself. If in TransferRounds
// consecutive rounds (default 1) some follower reached strictly more, it
// hands leadership to the best follower of the last round.
//
// "Sustained" comes from the leader's own view: a participant is down in
// it only after ProbeFailures consecutive timeouts (or a refusal, or
// NOT_SERVING). The comparison is fresh on both sides, so a standing view
// a probe period old cannot move leadership: a participant that went down
// for everyone fails the followers' fresh probes too, and one that came
// back (a restart, a healed cut) answers the leader's own second probe,
// made after the followers answered. (Before the fresh probes, followers'
// standing views lag the leader's by up to a probe period, so three
// rounds were needed to rule that out: 0.5 s more per cut.)
//
// Ping-pong is ruled out by "strictly more" (the new leader reaches more
// than the old one, so the old one is never strictly better while the cut
// holds, and nobody is when it heals) and by TransferCooldown after every
// transfer this node starts. No transfer while a membership change is in
// flight, and none when no follower is better: a participant that is down
// for everyone moves nothing.

// reachLoop runs on the leader until it steps down. It looks every probe
// period, and at once when a participant goes down in its view.
func (c *Coordinator) reachLoop(ls *leaderState) {
	if c.cfg.TransferRounds <= 0 {
		return
	}
	t := time.NewTicker(c.cfg.ProbeInterval)
	defer t.Stop()
	short := 0
	for {
		select {
		case <-ls.ctx.Done():
			return
		case <-t.C:
		case <-c.health.downs:
		}
		all := c.node.FSM().Participants()
		parts := keys(all)
		// Only participants down in this node's view count against it: one
		// it has not probed yet (just registered, or this node just
		// started) is given the benefit of the doubt.
		down := c.health.downOf(parts)
		if len(down) == 0 || !c.mayTransfer() {
			short = 0
			continue
		}
		to, theirs := c.bestFollower(ls.ctx, parts, len(parts)-len(down))
		var mine []string
		if to != "" {
			// The leader's own second look, after the followers answered,
			// patient where theirs was not: any doubt keeps leadership here.
			back := c.probeNow(ls.ctx, subset(all, down), nil, true)
			for _, p := range parts {
				if !slices.Contains(down, p) || slices.Contains(back, p) {
					mine = append(mine, p)
				}
			}
			if len(intersect(theirs, parts)) <= len(mine) {
				to = ""
			}
		}
		if to == "" {
			short = 0
			continue
		}
		if short++; short >= c.cfg.TransferRounds {
			c.transferTo(ls, to, mine, theirs, parts, short)
			short = 0
		}
	}
}

// mayTransfer is false during the cool-down after this node's last
// transfer and while a membership change is in flight.
func (c *Coordinator) mayTransfer() bool {
	c.mu.Lock()
	last := c.lastTransfer
	c.mu.Unlock()
	if !last.IsZero() && c.cfg.clock()().Sub(last) < c.cfg.TransferCooldown {
		return false
	}
	return !c.node.MembershipChanging()
}

// followerView is one follower's reachable participants, as it reported.
type followerView struct {
	id    string
	reach []string
}

// bestFollower asks every follower what it reaches now and returns the one
// that reaches the most of parts, if that is strictly more than have (ties
// go to the lowest ID), with the participants it reaches.
func (c *Coordinator) bestFollower(ctx context.Context, parts []string, have int) (string, []string) {
	views := c.followerViews(ctx)
	sort.Slice(views, func(i, j int) bool { return views[i].id < views[j].id })
	best, bestReach := "", []string(nil)
	for _, v := range views {
		if n := len(intersect(v.reach, parts)); n > have {
			best, bestReach, have = v.id, v.reach, n
		}
	}
	return best, bestReach
}

// followerViews asks every other voter, in parallel, to probe the
// participants now (Cluster with probe_participants), each call bounded by
// twice ProbeTimeout (the follower's probes take up to one); a follower
// that does not answer is left out.
func (c *Coordinator) followerViews(ctx context.Context) []followerView {
	var mu sync.Mutex
	var out []followerView
	var wg sync.WaitGroup
	for _, m := range c.node.Stats().Members {
		addr, ok := c.members.get(m.ID)
		if m.ID == c.node.ID() || !ok {
			continue
		}
		wg.Go(func() {
			cc, err := c.conns.get(addr, security.Identity{Role: security.RoleCoordinator, ID: m.ID})
			if err != nil {
				return
			}
			cctx, cancel := context.WithTimeout(ctx, 2*c.cfg.ProbeTimeout)
			defer cancel()
			resp, err := arbiterpb.NewCoordinatorClient(cc).Cluster(cctx, &arbiterpb.ClusterRequest{ProbeParticipants: true})
			if err != nil {
				return
			}
			mu.Lock()
			out = append(out, followerView{id: m.ID, reach: resp.GetReachable()})
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// transferTo hands leadership to the follower to and logs why.
func (c *Coordinator) transferTo(ls *leaderState, to string, mine, theirs, parts []string, rounds int) {
	c.mu.Lock()
	c.lastTransfer = c.cfg.clock()()
	c.mu.Unlock()
	_, down := c.reachView(c.node.FSM().Participants())
	reason := fmt.Sprintf("this leader reaches %d of %d participants (down: %s; %d round(s)); %s reaches %d now",
		len(mine), len(parts), describeDown(down), rounds, to, len(intersect(theirs, parts)))
	c.log.Warn("leadership transfer", zap.String("to", to), zap.String("reason", reason),
		zap.Uint64("term", ls.term), zap.Strings("leader-reaches", mine), zap.Strings("follower-reaches", theirs))
	// Not under ls.ctx: a transfer that succeeds ends this leadership,
	// which cancels ls.ctx before the transfer reports.
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ls.ctx), 5*time.Second)
	defer cancel()
	c.cfg.Metrics.transferBegun()
	err := c.node.TransferLeadership(tctx, to)
	c.cfg.Metrics.transferred(err == nil)
	if err != nil {
		c.log.Warn("leadership transfer failed", zap.String("to", to), zap.Error(err))
	}
}

func describeDown(down map[string]string) string {
	var out []string
	for p, why := range down {
		out = append(out, p+": "+why)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// subset returns the entries of m whose keys are in ks.
func subset(m map[string]string, ks []string) map[string]string {
	out := make(map[string]string, len(ks))
	for _, k := range ks {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// intersect returns the elements of a that are in b.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}
