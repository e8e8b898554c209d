package raftlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Stats is a point-in-time view of a node's Raft state.
type Stats struct {
	State        string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	LastIndex    uint64
	LeaderID     string
	Members      []Peer
	// LogWrites counts durable appends to this node's log (each two
	// fdatasyncs on boltdb, one fsync on wal) and LogEntries the entries
	// they carried, since the node started.
	LogWrites, LogEntries uint64
}

// Apply proposes a command and waits until it is committed and applied.
// Errors: ErrNotLeader (nothing was proposed), ErrOutcomeUnknown (it may or
// may not commit: retry by transaction ID), ErrClosed. Domain outcomes are
// in Result.Err.
func (n *Node) Apply(ctx context.Context, t arbiterpb.CommandType, m proto.Message) (Result, error) {
	b, err := Encode(t, m)
	if err != nil {
		return Result{}, err
	}
	if err := n.checkOpen(ctx); err != nil {
		return Result{}, err
	}
	start := time.Now()
	f := n.raft.Apply(b, n.timeout(ctx))
	if err := n.wait(ctx, f, true); err != nil {
		return Result{}, fmt.Errorf("raftlog: apply %v: %w", t, err)
	}
	if o := n.timing.load(); o != nil {
		o.ObserveCommit(time.Since(start))
	}
	res, ok := f.Response().(Result)
	if !ok {
		return Result{}, fmt.Errorf("raftlog: apply %v: unexpected response %T", t, f.Response())
	}
	return res, nil
}

// Barrier waits until every entry committed before it is applied to the
// FSM, so reads that follow see them. Only the leader can issue it.
func (n *Node) Barrier(ctx context.Context) error {
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	return n.wait(ctx, n.raft.Barrier(n.timeout(ctx)), false)
}

// VerifyLeader confirms with a quorum that this node is still the leader,
// and that its FSM holds everything committed so far; ErrNotLeader if it
// is not. It is a read barrier (an entry of this node's term that a quorum
// stores), not hashicorp/raft's VerifyLeader: that one counts any
// heartbeat answer that arrives after the call, and a leader resumed from a
// pause (SIGSTOP, a long GC) can read answers its followers sent before
// they elected a new leader, confirm itself, and then serve a stale "no
// decision" (the fault suite's paused-leader scenario caught it). An entry
// appended now cannot be stored by a quorum that has moved to a newer term.
func (n *Node) VerifyLeader(ctx context.Context) error {
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	err := n.wait(ctx, n.raft.Barrier(n.timeout(ctx)), false)
	if errors.Is(err, ErrOutcomeUnknown) && ctx.Err() == nil {
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	}
	return err
}

func (n *Node) checkOpen(ctx context.Context) error {
	select {
	case <-n.closed:
		return ErrClosed
	default:
	}
	return ctx.Err()
}

// timeout is ApplyTimeout, or less when ctx ends sooner.
func (n *Node) timeout(ctx context.Context) time.Duration {
	d := n.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return max(d, time.Millisecond)
}

// wait waits for f, ctx or Close and maps Raft's errors. submitted says
// whether a timeout leaves the outcome unknown.
func (n *Node) wait(ctx context.Context, f raft.Future, submitted bool) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	return n.waitDone(ctx, done, submitted)
}

// waitConfigChange is wait for a configuration change, counted in
// configChanges until f resolves (even if ctx ends first). f.Error is
// called from one goroutine only: hashicorp/raft's futures cache their
// error without a lock, so two callers race.
func (n *Node) waitConfigChange(ctx context.Context, f raft.Future) error {
	n.configChanges.Add(1)
	done := make(chan error, 1)
	go func() {
		err := f.Error() // resolves on commit, lost leadership or shutdown
		n.configChanges.Add(-1)
		done <- err
	}()
	return n.waitDone(ctx, done, true)
}

// waitDone is wait's second half: done carries the future's error.
func (n *Node) waitDone(ctx context.Context, done <-chan error, submitted bool) error {
	select {
	case err := <-done:
		return mapErr(err)
	case <-ctx.Done():
		if !submitted {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	case <-n.closed:
		if !submitted {
			return ErrClosed
		}
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, ErrClosed)
	}
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	default:
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	}
}

// FSM returns the node's state machine for reads.
func (n *Node) FSM() *FSM { return n.fsm }

// ID returns this node's server ID.
func (n *Node) ID() string { return n.cfg.ID }

// IsLeader reports whether this node currently believes it is the leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the current leader's ID and Raft address, empty if unknown.
func (n *Node) Leader() (id string, raftAddr string) {
	addr, sid := n.raft.LeaderWithID()
	return string(sid), string(addr)
}

// Term returns the current Raft term.
func (n *Node) Term() uint64 { return n.raft.CurrentTerm() }

// LeaderChanges delivers true when this node becomes leader and false when
// it stops being leader. Only the latest unread value is kept. A true value
// means Raft chose this node; call Barrier before trusting reads.
func (n *Node) LeaderChanges() <-chan bool { return n.leader.out }

// LeaderViewChanged returns a channel that is closed the next time this
// node observes a change of leader (any leader, including none). Callers
// waiting on the current leader use it to give up when that leader goes.
func (n *Node) LeaderViewChanged() <-chan struct{} { return n.leader.viewChanged() }

// LeaderChangeCount returns how many leader changes this node has observed.
func (n *Node) LeaderChangeCount() uint64 { return n.leader.count() }

// Stats returns a snapshot of the node's Raft state.
func (n *Node) Stats() Stats {
	id, _ := n.Leader()
	s := Stats{
		State: n.raft.State().String(), Term: n.raft.CurrentTerm(),
		CommitIndex: n.raft.CommitIndex(), AppliedIndex: n.raft.AppliedIndex(),
		LastIndex: n.raft.LastIndex(), LeaderID: id,
		LogWrites: n.logs.writes.Load(), LogEntries: n.logs.entries.Load(),
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			s.Members = append(s.Members, Peer{ID: string(srv.ID), Address: string(srv.Address)})
		}
	}
	return s
}

// Snapshot asks Raft for a snapshot now and waits for it.
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("raftlog: snapshot: %w", err)
	}
	return nil
}
