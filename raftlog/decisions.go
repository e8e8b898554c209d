package raftlog

import (
	"cmp"
	"errors"
	"fmt"
	"math"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// DecisionHistory is how many decisions the FSM retains for Watch: the
// newest DecisionHistory decisions, whatever their age. It is compiled in,
// not configured, so that every replica retains exactly the same ones and a
// watcher that fails over finds the same history on the next node (a
// snapshot carries them too). At about 150 bytes of heap a decision it
// costs a few MB per node, and about 100 bytes a decision in a snapshot.
const DecisionHistory = 16384

// ErrCompacted: a Watch asked to start before the oldest decision this
// node retains; decisions in between are gone from it. Re-read the state
// you need (Status) and watch from the oldest index the error names.
var ErrCompacted = errors.New("raftlog: decisions compacted")

// Cursor is a place in the sequence of decisions: the log index of the
// deciding entry and the decision's position among those of that entry.
type Cursor struct {
	Index    uint64
	Position uint32
}

// CursorOf is the cursor of an event.
func CursorOf(e *arbiterpb.DecisionEvent) Cursor {
	return Cursor{Index: e.GetIndex(), Position: e.GetPosition()}
}

// Next is the cursor right after c.
func (c Cursor) Next() Cursor {
	if c.Position == math.MaxUint32 {
		return Cursor{Index: c.Index + 1}
	}
	return Cursor{Index: c.Index, Position: c.Position + 1}
}

// Compare orders cursors by index, then position.
func (c Cursor) Compare(o Cursor) int {
	return cmp.Or(cmp.Compare(c.Index, o.Index), cmp.Compare(c.Position, o.Position))
}

// CompactedError is ErrCompacted with the oldest cursor still available.
type CompactedError struct {
	// Oldest is the first place a Watch may start from on this node.
	Oldest Cursor
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("%v: the oldest decision this node retains is at index %d position %d (it keeps the newest %d); "+
		"re-read the state you need and watch from there", ErrCompacted, e.Oldest.Index, e.Oldest.Position, DecisionHistory)
}

func (e *CompactedError) Unwrap() error { return ErrCompacted }

// decisionLog is the retained history: the newest decisions, oldest first,
// as a bounded FIFO. Events are immutable once stored, so a copy of the
// slice is a snapshot view.
type decisionLog struct {
	buf     []*arbiterpb.DecisionEvent // buf[head:] are the events
	head    int
	max     int
	seq     uint64 // the seq of the newest decision ever recorded
	evicted Cursor // the newest decision dropped; {0,0}: none
}

func newDecisionLog(max int) *decisionLog { return &decisionLog{max: max} }

func (d *decisionLog) len() int { return len(d.buf) - d.head }

// record appends a decision, dropping the oldest past max.
func (d *decisionLog) record(e *arbiterpb.DecisionEvent) {
	d.seq++
	e.Seq = d.seq
	d.buf = append(d.buf, e)
	d.trim()
}

// trim drops the oldest events past max.
func (d *decisionLog) trim() {
	for d.len() > d.max {
		d.evicted = CursorOf(d.buf[d.head])
		d.buf[d.head] = nil
		d.head++
	}
	if d.head > 1024 && d.head*2 > len(d.buf) {
		d.buf = append([]*arbiterpb.DecisionEvent(nil), d.buf[d.head:]...)
		d.head = 0
	}
}

// from returns up to n events at or after c, and the cursor after the last
// one returned (c itself when none). c = {0,0} starts at the oldest
// retained; a c at or before the newest evicted decision is compacted.
func (d *decisionLog) from(c Cursor, n int) ([]*arbiterpb.DecisionEvent, Cursor, error) {
	if c != (Cursor{}) && d.evicted != (Cursor{}) && c.Compare(d.evicted) <= 0 {
		return nil, c, &CompactedError{Oldest: d.evicted.Next()}
	}
	evs := d.buf[d.head:]
	lo, hi := 0, len(evs)
	for lo < hi { // first event at or after c
		mid := (lo + hi) / 2
		if CursorOf(evs[mid]).Compare(c) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	evs = evs[lo:min(lo+n, len(evs))]
	if len(evs) == 0 {
		return nil, c, nil
	}
	out := append([]*arbiterpb.DecisionEvent(nil), evs...)
	return out, CursorOf(out[len(out)-1]).Next(), nil
}

// oldest is the first cursor a Watch may start from.
func (d *decisionLog) oldest() Cursor {
	if d.evicted == (Cursor{}) {
		return Cursor{}
	}
	return d.evicted.Next()
}

func (d *decisionLog) clone() *decisionLog {
	c := *d
	c.buf = append([]*arbiterpb.DecisionEvent(nil), d.buf[d.head:]...)
	c.head = 0
	return &c
}

// each calls fn for every retained event, oldest first.
func (d *decisionLog) each(fn func(*arbiterpb.DecisionEvent)) {
	for _, e := range d.buf[d.head:] {
		fn(e)
	}
}

// eventOf is the decision event of a record just decided at index.
func eventOf(rec *arbiterpb.TxRecord, index uint64, position uint32, at int64) *arbiterpb.DecisionEvent {
	out := arbiterpb.Outcome_OUTCOME_ABORT
	if rec.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED {
		out = arbiterpb.Outcome_OUTCOME_COMMIT
	}
	return &arbiterpb.DecisionEvent{
		Index: index, Position: position, TxId: rec.GetTxId(), Outcome: out,
		Participants: rec.GetParticipants(), ReadOnly: rec.GetReadOnly(), ClientId: rec.GetClientId(),
		DecidedUnixNanos: at, Reason: rec.GetReason(),
	}
}
