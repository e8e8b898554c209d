package raftlog

import (
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// state is the FSM's data. Records are copy-on-write: a *TxRecord stored in
// live or finished is never mutated again, so a shallow copy of the maps and
// the ring is an immutable view.
type state struct {
	live         map[string]*arbiterpb.TxRecord
	finished     *ring
	participants map[string]string
	applied      uint64
	// decidedLive counts live records that are decided (phase 2 not
	// finished), so Counts is O(1): Begin checks it on every call.
	decidedLive int
	// order is live's keys in listing order, for PendingAfter. Writes to
	// live go through put and remove, which keep it.
	order liveOrder
	// decisions is the retained history of decisions that Watch serves.
	decisions *decisionLog
}

func newState() *state {
	return &state{
		live:         map[string]*arbiterpb.TxRecord{},
		finished:     newRing(),
		participants: map[string]string{},
		decisions:    newDecisionLog(DecisionHistory),
	}
}

// lookup finds a record in the live table, then in the finished ring.
func (s *state) lookup(txID string) (*arbiterpb.TxRecord, bool) {
	if r, ok := s.live[txID]; ok {
		return r, true
	}
	return s.finished.get(txID)
}

// put stores rec in the live table, new or replacing the record of its ID.
func (s *state) put(rec *arbiterpb.TxRecord) {
	old, had := s.live[rec.TxId]
	s.live[rec.TxId] = rec
	if had && old.GetBeginIndex() == rec.GetBeginIndex() {
		return
	}
	if had { // a new begin index under a live ID: process never does this, kept correct anyway
		s.order.removed(s.live)
	}
	s.order.add(keyOf(rec))
}

// remove deletes txID from the live table.
func (s *state) remove(txID string) {
	if _, ok := s.live[txID]; ok {
		delete(s.live, txID)
		s.order.removed(s.live)
	}
}

// view returns a shallow copy that later applies cannot change.
func (s *state) view() *state {
	v := &state{
		live:         make(map[string]*arbiterpb.TxRecord, len(s.live)),
		finished:     s.finished.clone(),
		participants: make(map[string]string, len(s.participants)),
		applied:      s.applied,
		decidedLive:  s.decidedLive,
		order:        s.order.clone(),
		decisions:    s.decisions.clone(),
	}
	for k, r := range s.live {
		v.live[k] = r
	}
	for k, a := range s.participants {
		v.participants[k] = a
	}
	return v
}

// ring is the finished store: a FIFO of finished records, in the order
// they finished, with an index by ID. It grows with what finishes and
// shrinks only when a FINISH entry carries the uniqueness window's cut
// (forgetBefore), so every replica forgets the same records at the same log
// index and no record is forgotten sooner than the window after it
// finished, however fast transactions finish.
type ring struct {
	buf   []*arbiterpb.TxRecord // buf[head:] are the records, oldest first
	head  int
	index map[string]*arbiterpb.TxRecord
}

func newRing() *ring {
	return &ring{index: map[string]*arbiterpb.TxRecord{}}
}

func (r *ring) len() int { return len(r.buf) - r.head }

func (r *ring) get(txID string) (*arbiterpb.TxRecord, bool) {
	rec, ok := r.index[txID]
	return rec, ok
}

// push appends rec as the newest record.
func (r *ring) push(rec *arbiterpb.TxRecord) {
	r.buf = append(r.buf, rec)
	r.index[rec.GetTxId()] = rec
}

// forgetBefore drops the oldest records while they finished before t
// (unix nanoseconds; 0 forgets nothing). Finish times follow the log order
// except across leaders with skewed clocks; a record behind a newer one is
// kept until that one goes, which only lengthens its stay.
func (r *ring) forgetBefore(t int64) {
	for r.head < len(r.buf) && r.buf[r.head].GetFinishedUnixNanos() < t {
		old := r.buf[r.head]
		if r.index[old.GetTxId()] == old {
			delete(r.index, old.GetTxId())
		}
		r.buf[r.head] = nil
		r.head++
	}
	if r.head > 1024 && r.head*2 > len(r.buf) { // reclaim the dropped prefix
		r.buf = append([]*arbiterpb.TxRecord(nil), r.buf[r.head:]...)
		r.head = 0
	}
}

// each calls fn for every record, oldest first.
func (r *ring) each(fn func(*arbiterpb.TxRecord)) {
	for _, rec := range r.buf[r.head:] {
		fn(rec)
	}
}

func (r *ring) clone() *ring {
	c := &ring{buf: make([]*arbiterpb.TxRecord, 0, r.len()), index: make(map[string]*arbiterpb.TxRecord, r.len())}
	r.each(c.push)
	return c
}
