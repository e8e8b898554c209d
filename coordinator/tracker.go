package coordinator

import (
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Trace bounds (see tracker). Worst case a node holds about
// capacity × (maxTraceEvents × (eventSize + maxTraceText)) bytes; typical
// transactions hold a few events each and use a few hundred bytes.
const (
	// maxTraceEvents bounds one transaction's timeline. The first
	// traceHeadEvents are kept; after that the oldest of the rest make room.
	maxTraceEvents  = 64
	traceHeadEvents = 16
	// maxTraceText bounds an error or reason kept in a trace, in bytes.
	maxTraceText = 256
)

// tracker is this node's in-memory history of the transactions it ran as
// leader, for `arbiter tx show` (Admin.TraceTx). It keeps the most recent
// capacity transactions: one map plus a ring of IDs in first-seen order, so
// that adding a transaction evicts the oldest in O(1). Every method is safe
// for concurrent use and on a nil *tracker (tracing disabled), and does no
// formatting: events are stored as typed values and rendered by get.
type tracker struct {
	now func() time.Time

	mu   sync.Mutex
	byID map[string]*txTrace
	ring []string // IDs, oldest at ring[next] once full
	next int
	cap  int
}

type txTrace struct {
	parts   []partTrace // few (bounded by MaxBranches): a linear search beats a map
	events  []traceEvent
	omitted uint32
}

type partTrace struct {
	id       string
	vote     arbiterpb.Vote
	reason   string
	prepares uint32
	ackOut   arbiterpb.Outcome
	ackAt    int64
	retries  uint32
	lastErr  string
}

type eventKind uint8

const (
	evText eventKind = iota
	evPrepare
	evVote
	evAck
	evRetry
	evDecided
)

// traceEvent is one timeline entry; which fields matter depends on kind.
type traceEvent struct {
	at     int64
	kind   eventKind
	pid    string
	text   string // evText: the text; evVote: the reason; evRetry: the error
	n      uint64 // evPrepare: attempt; evRetry: first retry number; evDecided: log index
	last   uint64 // evRetry: last retry number merged into this event
	lastAt int64
	vote   arbiterpb.Vote
	out    arbiterpb.Outcome
}

// newTracker returns a tracker of the capacity most recent transactions,
// or nil (tracing off) when capacity is 0.
func newTracker(capacity int, now func() time.Time) *tracker {
	if capacity <= 0 {
		return nil
	}
	return &tracker{now: now, byID: make(map[string]*txTrace), cap: capacity}
}

// event adds a free-text timeline entry ("finished", operator actions).
func (t *tracker) event(txID, what string) {
	if t == nil {
		return
	}
	t.add(txID, traceEvent{kind: evText, text: what})
}

// prepareSent records one Prepare call to pid.
func (t *tracker) prepareSent(txID, pid string) {
	if t == nil {
		return
	}
	t.with(txID, func(tr *txTrace, at int64) {
		p := tr.part(pid)
		p.prepares++
		tr.add(traceEvent{at: at, kind: evPrepare, pid: pid, n: uint64(p.prepares)})
	})
}

// vote records pid's phase-1 vote.
func (t *tracker) vote(txID, pid string, vote arbiterpb.Vote, reason string) {
	if t == nil {
		return
	}
	reason = clip(reason)
	t.with(txID, func(tr *txTrace, at int64) {
		p := tr.part(pid)
		p.vote, p.reason = vote, reason
		tr.add(traceEvent{at: at, kind: evVote, pid: pid, vote: vote, text: reason})
	})
}

// acked records pid's phase-2 acknowledgement of out.
func (t *tracker) acked(txID, pid string, out arbiterpb.Outcome) {
	if t == nil {
		return
	}
	t.with(txID, func(tr *txTrace, at int64) {
		p := tr.part(pid)
		p.ackOut, p.ackAt = out, at
		tr.add(traceEvent{at: at, kind: evAck, pid: pid, out: out})
	})
}

// retry records a failed phase-2 delivery to pid that will be retried.
// Consecutive retries to pid with the same error share one timeline entry.
func (t *tracker) retry(txID, pid string, err error) {
	if t == nil {
		return
	}
	msg := "unknown error"
	if err != nil {
		msg = clip(err.Error())
	}
	t.with(txID, func(tr *txTrace, at int64) {
		p := tr.part(pid)
		p.retries++
		if p.lastErr == msg {
			msg = p.lastErr // share one copy of a repeated error
		}
		p.lastErr = msg
		if e := tr.lastRetry(pid); e != nil && e.text == msg {
			e.last, e.lastAt = uint64(p.retries), at
			return
		}
		tr.add(traceEvent{at: at, kind: evRetry, pid: pid, text: msg, n: uint64(p.retries), last: uint64(p.retries), lastAt: at})
	})
}

// decided records the decision applied at index.
func (t *tracker) decided(txID string, out arbiterpb.Outcome, index uint64) {
	if t == nil {
		return
	}
	t.add(txID, traceEvent{kind: evDecided, out: out, n: index})
}

// get renders txID's trace, if this node holds one.
func (t *tracker) get(txID string) (*arbiterpb.TxTrace, bool) {
	if t == nil {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.byID[txID]
	if !ok {
		return nil, false
	}
	return tr.render(), true
}

func (t *tracker) add(txID string, e traceEvent) {
	t.with(txID, func(tr *txTrace, at int64) {
		e.at = at
		tr.add(e)
	})
}

// with runs f on txID's trace, created (evicting the oldest) if needed,
// under the lock, with the current time.
func (t *tracker) with(txID string, f func(tr *txTrace, at int64)) {
	at := t.now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.byID[txID]
	if !ok {
		tr = &txTrace{events: make([]traceEvent, 0, 8)}
		t.insert(txID, tr)
	}
	f(tr, at)
}

func (t *tracker) insert(txID string, tr *txTrace) {
	if len(t.ring) < t.cap {
		t.ring = append(t.ring, txID)
	} else {
		delete(t.byID, t.ring[t.next])
		t.ring[t.next] = txID
		t.next = (t.next + 1) % t.cap
	}
	t.byID[txID] = tr
}

func (tr *txTrace) part(pid string) *partTrace {
	for i := range tr.parts {
		if tr.parts[i].id == pid {
			return &tr.parts[i]
		}
	}
	tr.parts = append(tr.parts, partTrace{id: pid})
	return &tr.parts[len(tr.parts)-1]
}

// add appends e, dropping the oldest event after the head when full.
func (tr *txTrace) add(e traceEvent) {
	if len(tr.events) < maxTraceEvents {
		tr.events = append(tr.events, e)
		return
	}
	copy(tr.events[traceHeadEvents:], tr.events[traceHeadEvents+1:])
	tr.events[len(tr.events)-1] = e
	tr.omitted++
}

// lastRetry is pid's most recent retry event, if only retry events (to
// any participant) follow it: a vote or an ack in between starts a new one.
func (tr *txTrace) lastRetry(pid string) *traceEvent {
	for i := len(tr.events) - 1; i >= 0 && tr.events[i].kind == evRetry; i-- {
		if tr.events[i].pid == pid {
			return &tr.events[i]
		}
	}
	return nil
}

// clip bounds s to maxTraceText bytes without splitting a UTF-8 sequence.
func clip(s string) string {
	if len(s) <= maxTraceText {
		return s
	}
	i := maxTraceText
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
