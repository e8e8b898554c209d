package coordinator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/healthprobe"
	"github.com/arbiter-tx/arbiter/internal/security"
)

// A follower's link to the leader (issue 14, one-way cuts). A follower
// serves leader-only calls by forwarding them to the leader's gRPC server
// over a connection it opens. Raft's own traffic does not need that
// connection (the leader opens Raft's), so with the follower's packets to
// the leader dropped, the follower still knows the leader, reports healthy,
// and every call forwarded through it waits for its caller's timeout: the
// participants' Enlists held their locks 1.5 s per call through such a
// node. So every follower health-checks the leader's gRPC server on the
// connection forwarding uses, each ProbeInterval, bounded by ProbeTimeout;
// ProbeFailures consecutive timeouts (or a refused connection) mark the
// link down, any answer brings it back. While it is down the follower
// answers leader-only calls at once with UNAVAILABLE naming the leader
// (NOT_LEADER, so the client SDK dials it directly), a forward waiting on
// it gives up the same way, and the node's gRPC health is NOT_SERVING
// (cmd/arbiter), so participants call other nodes first.

// leaderLink is this node's view of its link to the leader; safe for
// concurrent use.
type leaderLink struct {
	mu       sync.Mutex
	leader   string // the leader the state is about ("" when none or self)
	timeouts int
	down     bool
	reason   string
	since    time.Time
	wake     chan struct{} // closed when the link next goes down
}

func newLeaderLink() *leaderLink { return &leaderLink{wake: make(chan struct{})} }

// about resets the state when the leader is not the one it was about.
func (l *leaderLink) about(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader != id {
		l.leader, l.timeouts, l.down, l.reason = id, 0, false, ""
	}
}

// answered records an answer from leader id; it reports whether the link
// was down.
func (l *leaderLink) answered(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader != id {
		return false
	}
	was := l.down
	l.timeouts, l.down, l.reason = 0, false, ""
	return was
}

// failed records a failed check of leader id (now: down at once); it
// reports whether that took the link down.
func (l *leaderLink) failed(id string, now bool, why string, failures int, at time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader != id || l.down {
		return false
	}
	if !now {
		if l.timeouts++; l.timeouts < failures {
			return false
		}
		why = fmt.Sprintf("%d consecutive timeouts (%s)", l.timeouts, why)
	}
	l.down, l.reason, l.since = true, why, at
	close(l.wake)
	l.wake = make(chan struct{})
	return true
}

// state reports whether the link to leader id is down, why and since when,
// and a channel closed when it next goes down.
func (l *leaderLink) state(id string) (why string, since time.Time, down bool, wake <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader != id {
		return "", time.Time{}, false, l.wake
	}
	return l.reason, l.since, l.down, l.wake
}

// LeaderUnreachable reports whether this node, a follower, cannot reach
// the leader's gRPC server to forward calls, and why. cmd/arbiter reports
// NOT_SERVING meanwhile.
func (c *Coordinator) LeaderUnreachable() (string, bool) {
	id, _ := c.node.Leader()
	why, since, down, _ := c.link.state(id)
	if !down || id == "" || id == c.node.ID() {
		return "", false
	}
	return fmt.Sprintf("cannot reach the leader %s: %s for %v", id, why, c.cfg.clock()().Sub(since).Round(time.Millisecond)), true
}

// leaderLinkLoop checks the link to the leader each ProbeInterval until
// ctx ends; it does nothing while this node leads or knows no leader.
func (c *Coordinator) leaderLinkLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		id, _ := c.node.Leader()
		if id == c.node.ID() {
			id = ""
		}
		c.link.about(id)
		addr, ok := c.members.get(id)
		if id == "" || !ok {
			continue
		}
		c.checkLeader(ctx, id, addr)
	}
}

// checkLeader sends one health check to leader id over the connection
// forwarding uses (healthprobe.Check).
func (c *Coordinator) checkLeader(ctx context.Context, id, addr string) {
	cc, err := c.conns.get(addr, security.Identity{Role: security.RoleCoordinator, ID: id})
	if err != nil {
		return
	}
	r, err := healthprobe.Check(ctx, cc, c.cfg.ProbeTimeout, false)
	var why string
	switch r {
	case healthprobe.Silent:
		return
	case healthprobe.Answered, healthprobe.NotServing: // its server answered
		if c.link.answered(id) {
			c.log.Info("leader reachable again for forwarding", zap.String("leader", id))
		}
		return
	case healthprobe.Refused:
		why = "connection refused"
	default:
		why = fmt.Sprintf("no answer to a health check within %v", c.cfg.ProbeTimeout)
		if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
			why = st.Message()
		}
	}
	if c.link.failed(id, r == healthprobe.Refused, why, c.cfg.ProbeFailures, c.cfg.clock()()) {
		why, _ := c.LeaderUnreachable()
		c.log.Warn("leader unreachable from this node: leader-only calls are refused here, naming the leader", zap.String("leader", id), zap.String("reason", why))
	}
}

// unreachableLeader is the error for a leader-only call on a follower whose
// link to the leader is down: UNAVAILABLE with the NOT_LEADER hint.
func (c *Coordinator) unreachableLeader(id, addr string) error {
	why, _ := c.LeaderUnreachable()
	return &notLeader{err: fmt.Errorf("%w: node %s does not lead and %s; call the leader at %s directly, or another node", ErrNoLeader, c.node.ID(), why, addr),
		leaderID: id, leaderAddr: addr}
}
