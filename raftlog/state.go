package raftlog

import (
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// FinishedRetention is how many finished transactions the FSM remembers, so
// a late DECIDE or status query still sees the outcome. Eviction is by
// count, oldest first, so every replica forgets the same records at the same
// log index.
const FinishedRetention = 100_000

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
}

func newState(retention int) *state {
	return &state{
		live:         map[string]*arbiterpb.TxRecord{},
		finished:     newRing(retention),
		participants: map[string]string{},
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
	}
	for k, r := range s.live {
		v.live[k] = r
	}
	for k, a := range s.participants {
		v.participants[k] = a
	}
	return v
}

// ring is a fixed-capacity FIFO of finished records with an index by ID.
type ring struct {
	buf   []*arbiterpb.TxRecord
	head  int // index of the oldest record
	n     int
	index map[string]*arbiterpb.TxRecord
}

func newRing(capacity int) *ring {
	return &ring{buf: make([]*arbiterpb.TxRecord, capacity), index: map[string]*arbiterpb.TxRecord{}}
}

func (r *ring) len() int { return r.n }

func (r *ring) get(txID string) (*arbiterpb.TxRecord, bool) {
	rec, ok := r.index[txID]
	return rec, ok
}

// push appends rec, evicting the oldest record when the ring is full.
func (r *ring) push(rec *arbiterpb.TxRecord) {
	if len(r.buf) == 0 {
		return
	}
	if r.n == len(r.buf) {
		old := r.buf[r.head]
		delete(r.index, old.GetTxId())
		r.buf[r.head] = nil
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	r.buf[(r.head+r.n)%len(r.buf)] = rec
	r.n++
	r.index[rec.GetTxId()] = rec
}

// each calls fn for every record, oldest first.
func (r *ring) each(fn func(*arbiterpb.TxRecord)) {
	for i := 0; i < r.n; i++ {
		fn(r.buf[(r.head+i)%len(r.buf)])
	}
}

func (r *ring) clone() *ring {
	c := newRing(len(r.buf))
	r.each(c.push)
	return c
}
