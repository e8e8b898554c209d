package raftlog

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Observer receives a Node's Raft timings (see Node.SetObserver). Its
// methods run on Raft's hot paths, the FSM apply goroutine and every
// Apply call, so they must be cheap and must not block.
type Observer interface {
	// ObserveFSMApply is the time FSM.Apply took for one log entry.
	ObserveFSMApply(time.Duration)
	// ObserveCommit is the time from proposing an entry on the leader
	// (Node.Apply) until it was committed and applied on this node.
	ObserveCommit(time.Duration)
	// ObserveLogWrite is the time one durable write of entries to this
	// node's log took (StoreLogs: the write and its fsync).
	ObserveLogWrite(time.Duration)
}

// timing holds the current Observer; nil means nothing is timed.
type timing struct {
	obs atomic.Pointer[Observer]
}

func (t *timing) load() Observer {
	if p := t.obs.Load(); p != nil {
		return *p
	}
	return nil
}

// SetObserver starts reporting timings to o (nil stops). Entries applied
// before the call, such as the replay on open, are not reported.
//
// The timings are bridged this way, rather than through hashicorp/raft's
// own go-metrics ("raft.fsm.apply", "raft.commitTime"), because go-metrics
// reports to one process-wide sink: it is package-level state and cannot
// tell apart several nodes in one process.
func (n *Node) SetObserver(o Observer) {
	if o == nil {
		n.timing.obs.Store(nil)
		return
	}
	n.timing.obs.Store(&o)
}

// timedFSM is the FSM as Raft sees it: Apply is timed when an Observer is
// set. The clock is read outside the FSM, which stays deterministic; the
// timing never reaches the state.
type timedFSM struct {
	fsm    *FSM
	timing *timing
}

var _ raft.FSM = timedFSM{}

func (f timedFSM) Apply(l *raft.Log) any {
	o := f.timing.load()
	if o == nil {
		return f.fsm.Apply(l)
	}
	start := time.Now()
	res := f.fsm.Apply(l)
	o.ObserveFSMApply(time.Since(start))
	return res
}

func (f timedFSM) Snapshot() (raft.FSMSnapshot, error) { return f.fsm.Snapshot() }

func (f timedFSM) Restore(rc io.ReadCloser) error { return f.fsm.Restore(rc) }
