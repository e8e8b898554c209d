package coordinator_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// stallApply is a raftlog.Observer that holds a node's FSM apply goroutine
// (Raft calls ObserveFSMApply from it) until released: the node stays a
// healthy Raft member, votes and replicates, but applies nothing.
type stallApply struct {
	stalled chan struct{} // closed at the first entry held
	release chan struct{}
	once    sync.Once
}

func newStallApply(release chan struct{}) *stallApply {
	return &stallApply{stalled: make(chan struct{}), release: release}
}

func (s *stallApply) ObserveFSMApply(time.Duration) {
	s.once.Do(func() { close(s.stalled) })
	<-s.release
}

func (s *stallApply) ObserveCommit(time.Duration) {}

func (s *stallApply) ObserveLogWrite(time.Duration) {}

// Issue 14 item 5: the followers' FSM apply is stalled longer than one
// catch-up barrier may take, and the leader is killed. The node Raft elects
// cannot finish its first barrier; it must keep trying while Raft keeps it
// leader, and lead once the stall ends, with no other election to rescue it.
// Before the fix it gave up after one failed barrier and answered every
// leader-only call "does not lead" until some unrelated election.
func TestNewLeaderLeadsAfterFailedCatchUpBarrier(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) { cfg.CatchUpTimeout = 500 * time.Millisecond })
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 60*time.Second)
	old := c.waitLeader()

	release := make(chan struct{})
	var once sync.Once
	unstall := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unstall) // runs before the cluster stops (cleanups are LIFO)
	var stalls []*stallApply
	for _, n := range c.nodes {
		if n != old {
			s := newStallApply(release)
			n.node.SetObserver(s)
			stalls = append(stalls, s)
		}
	}
	if _, err := cli.Begin(ctx, 0); err != nil { // an entry for the followers to apply
		t.Fatal(err)
	}
	for _, s := range stalls {
		recv(t, s.stalled, 10*time.Second, "a follower's FSM apply to stall")
	}
	c.kill(old)

	var heir *testNode
	waitFor(t, 15*time.Second, "Raft to elect a follower", func() bool {
		for _, n := range c.nodes {
			if n.up && n.node.IsLeader() {
				heir = n
				return true
			}
		}
		return false
	})
	term := heir.node.Term()
	// Hold the stall over several catch-up attempts, then let it go.
	time.Sleep(4 * 500 * time.Millisecond)
	unstall()

	begun := ""
	waitFor(t, 10*time.Second, "the elected node to lead (Begin succeeds)", func() bool {
		bctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		tx, err := cli.Begin(bctx, 0)
		begun = tx
		return err == nil
	})
	if !heir.node.IsLeader() || heir.node.Term() != term {
		t.Fatalf("the heir %s changed (leader %v, term %d, elected in %d): another election rescued it, the test proves nothing",
			heir.id, heir.node.IsLeader(), heir.node.Term(), term)
	}
	out, err := cli.Commit(ctx, begun, a.branch(-30), b.branch(30))
	if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit on the new leader: outcome %v, err %v", out, err)
	}
	waitFor(t, 10*time.Second, "phase 2 from the new leader", func() bool {
		return a.state(begun) == participant.StateCommitted && b.state(begun) == participant.StateCommitted
	})
	if a.balance() != 70 || b.balance() != 130 {
		t.Fatalf("balances a=%d b=%d, want 70 and 130", a.balance(), b.balance())
	}
}
