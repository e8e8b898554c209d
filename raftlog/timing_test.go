package raftlog

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

type countingObserver struct {
	mu                       sync.Mutex
	applies, commits, writes int
}

func (o *countingObserver) ObserveFSMApply(time.Duration) { o.add(&o.applies) }
func (o *countingObserver) ObserveCommit(time.Duration)   { o.add(&o.commits) }
func (o *countingObserver) ObserveLogWrite(time.Duration) { o.add(&o.writes) }

func (o *countingObserver) add(n *int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	*n++
}

func (o *countingObserver) counts() (applies, commits int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.applies, o.commits
}

func (o *countingObserver) logWrites() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writes
}

// The leader reports one commit per Apply, and every node one FSM apply
// per entry it applies and at least one timed log write (every entry is
// written before it is applied); removing the observer stops the reports.
func TestObserverTimesApplies(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 3)
	li := c.leader()
	obs := make([]*countingObserver, len(c.nodes))
	for i, n := range c.nodes {
		obs[i] = &countingObserver{}
		n.SetObserver(obs[i])
	}
	for i := range 5 {
		if _, err := applyBegin(ctx, c.nodes[li], fmt.Sprint("t", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.converged("t4", pb.TxState_TX_STATE_ACTIVE)
	for i := range c.nodes {
		applies, commits := obs[i].counts()
		wantCommits := 0
		if i == li {
			wantCommits = 5
		}
		if applies < 5 || commits != wantCommits {
			t.Errorf("node %d: %d FSM applies, %d commits; want >= 5 and %d", i, applies, commits, wantCommits)
		}
		if w := obs[i].logWrites(); w < 1 {
			t.Errorf("node %d: %d timed log writes after 5 applied entries; want >= 1", i, w)
		}
	}
	c.nodes[li].SetObserver(nil)
	if _, err := applyBegin(ctx, c.nodes[li], "t5"); err != nil {
		t.Fatal(err)
	}
	if _, commits := obs[li].counts(); commits != 5 {
		t.Errorf("%d commits reported after SetObserver(nil), want 5", commits)
	}
}

// Raft only batches applies for an FSM that implements BatchingFSM (and
// hands configurations to a ConfigurationStore): the wrapper must not hide
// an interface the FSM gains.
func TestTimedFSMKeepsOptionalInterfaces(t *testing.T) {
	var fsm, wrapped any = NewFSM(), timedFSM{fsm: NewFSM(), timing: &timing{}}
	if _, ok := fsm.(raft.BatchingFSM); ok {
		if _, ok := wrapped.(raft.BatchingFSM); !ok {
			t.Error("FSM implements raft.BatchingFSM but timedFSM does not")
		}
	}
	if _, ok := fsm.(raft.ConfigurationStore); ok {
		if _, ok := wrapped.(raft.ConfigurationStore); !ok {
			t.Error("FSM implements raft.ConfigurationStore but timedFSM does not")
		}
	}
}
