package raftlog

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// FSM is the replicated transaction table. It implements raft.FSM: Apply is
// deterministic (the same log gives the same state and results on every
// replica), Snapshot takes a cheap immutable view, and Restore discards all
// previous state. The read methods return clones and are safe to call
// concurrently with Apply.
type FSM struct {
	mu sync.RWMutex
	s  *state
	// changed is closed, and replaced, whenever an apply records a decision
	// or a restore replaces the state: Watch's wake-up (see DecisionsFrom).
	changed chan struct{}
}

var _ raft.FSM = (*FSM)(nil)

// NewFSM returns an empty FSM. Finished transactions are remembered until
// a FINISH entry's uniqueness-window cut passes them.
func NewFSM() *FSM { return &FSM{s: newState(), changed: make(chan struct{})} }

// NewFSMWithHistory is NewFSM retaining the newest n decisions instead of
// DecisionHistory: for tests and offline tools. Replicas of one cluster
// must retain the same number.
func NewFSMWithHistory(n int) *FSM {
	f := NewFSM()
	f.s.decisions = newDecisionLog(max(n, 1))
	return f
}

// Apply applies one committed log entry and returns a Result. It panics when
// a command entry does not decode: replicas must never silently diverge.
// Entries that are not commands return nil.
func (f *FSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s.applied = l.Index
	if l.Type != raft.LogCommand {
		return nil
	}
	t, m, err := Decode(l.Data)
	if err != nil {
		panic(fmt.Sprintf("raftlog: apply index %d: %v", l.Index, err))
	}
	e := entry{index: l.Index}
	if !l.AppendedAt.IsZero() {
		e.at = l.AppendedAt.UnixNano()
	}
	seq := f.s.decisions.seq
	res := process(f.s, e, t, m)
	if f.s.decisions.seq != seq {
		f.wake()
	}
	return res
}

// wake tells the watchers that decisions or the whole state changed; the
// caller holds mu for writing.
func (f *FSM) wake() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// DecisionsFrom returns up to n retained decisions at or after c, in log
// order, and the cursor after the last one returned (c when none). The
// zero cursor starts at the oldest retained decision. A cursor at or
// before a decision no longer retained returns a *CompactedError naming
// the oldest cursor available. changed is closed once later decisions
// are applied (or a snapshot is restored): wait on it when none came back.
func (f *FSM) DecisionsFrom(c Cursor, n int) (evs []*arbiterpb.DecisionEvent, next Cursor, changed <-chan struct{}, err error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	evs, next, err = f.s.decisions.from(c, n)
	return evs, next, f.changed, err
}

// OldestDecision is the first cursor a Watch may start from on this node
// ({0,0}: no decision was ever dropped), and LastDecisionSeq the seq of the
// newest decision applied.
func (f *FSM) OldestDecision() (oldest Cursor, lastSeq uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.s.decisions.oldest(), f.s.decisions.seq
}

// Get returns the record for txID from the live table or, once finished,
// from the finished ring.
func (f *FSM) Get(txID string) (*arbiterpb.TxRecord, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, ok := f.s.lookup(txID)
	return clone(r), ok
}

// Participant returns the registered address of a participant.
func (f *FSM) Participant(id string) (address string, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	address, ok = f.s.participants[id]
	return address, ok
}

// Participants returns a copy of every registered participant's address.
func (f *FSM) Participants() map[string]string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]string, len(f.s.participants))
	for id, a := range f.s.participants {
		out[id] = a
	}
	return out
}

// Pending returns every record in the live table (undecided, or decided and
// not finished), sorted by begin index, then ID.
func (f *FSM) Pending() []*arbiterpb.TxRecord {
	f.mu.RLock()
	out := make([]*arbiterpb.TxRecord, 0, len(f.s.live))
	for _, r := range f.s.live {
		out = append(out, clone(r))
	}
	f.mu.RUnlock()
	slices.SortFunc(out, func(a, b *arbiterpb.TxRecord) int {
		return cmp.Or(cmp.Compare(a.BeginIndex, b.BeginIndex), cmp.Compare(a.TxId, b.TxId))
	})
	return out
}

// PendingAfter returns up to n records of the live table that come strictly
// after (beginIndex, txID) in Pending's order; (0, "") starts at the first.
// It costs a binary search and the n clones, not a sort of the table, so a
// listing can page through a large table. A cursor stays valid while
// records come and go: every record that stays live and sorts after it is
// returned by some later page.
func (f *FSM) PendingAfter(beginIndex uint64, txID string, n int) []*arbiterpb.TxRecord {
	if n <= 0 {
		return nil
	}
	f.mu.RLock()
	recs := f.s.order.after(f.s.live, txKey{beginIndex, txID}, n)
	f.mu.RUnlock()
	for i, r := range recs { // stored records are never mutated: clone outside the lock
		recs[i] = clone(r)
	}
	return recs
}

// Counts returns how many transactions are undecided (active) and decided
// but not finished (unfinished).
func (f *FSM) Counts() (active, unfinished int) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.s.live) - f.s.decidedLive, f.s.decidedLive
}

// AppliedIndex returns the index of the last log entry applied or restored.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.s.applied
}

// Snapshot returns an immutable view of the state; Persist does the IO.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &fsmSnapshot{s: f.s.view()}, nil
}

// Restore replaces the whole state with a snapshot. The snapshot is parsed
// and validated into fresh state first; on error the FSM is unchanged.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	s, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s.decisions.max = f.s.decisions.max
	s.decisions.trim()
	f.s = s
	f.wake()
	return nil
}

// Decisions returns the outcome ("commit" or "abort") of every decided
// transaction the table still holds, live or finished. Offline tools use it
// after Replay, when part of the log was compacted into a snapshot.
func (f *FSM) Decisions() map[string]string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]string, len(f.s.live)+f.s.finished.len())
	note := func(r *arbiterpb.TxRecord) {
		switch r.GetState() {
		case arbiterpb.TxState_TX_STATE_COMMITTED:
			out[r.GetTxId()] = "commit"
		case arbiterpb.TxState_TX_STATE_ABORTED:
			out[r.GetTxId()] = "abort"
		}
	}
	for _, r := range f.s.live {
		note(r)
	}
	f.s.finished.each(note)
	return out
}
