package txhistory

import (
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// History bounds. Worst case a node holds about
// capacity × (maxEvents × (eventSize + maxText)) bytes; typical
// transactions hold a few events each and use a few hundred bytes.
const (
	// maxEvents bounds one transaction's timeline. The first headEvents
	// are kept; after that the oldest of the rest make room.
	maxEvents  = 64
	headEvents = 16
	// maxText bounds an error or reason kept in a history, in bytes.
	maxText = 256
)

// History is this node's in-memory history of the transactions it ran as
// leader, for `arbiter tx show` (Admin.TraceTx). It keeps the most recent
// capacity transactions: one map plus a ring of IDs in first-seen order, so
// that adding a transaction evicts the oldest in O(1). Every method is safe
// for concurrent use and on a nil *History (history off), and does no
// formatting: events are stored as typed values and rendered by Get.
type History struct {
	now func() time.Time

	mu   sync.Mutex
	byID map[string]*txHistory
	ring []string // IDs, oldest at ring[next] once full
	next int
	cap  int
}

// txHistory is one transaction's history.
type txHistory struct {
	parts   []partHistory // few (bounded by MaxBranches): a linear search beats a map
	events  []event
	omitted uint32
}

type partHistory struct {
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

// event is one timeline entry; which fields matter depends on kind.
type event struct {
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

// New returns a history of the capacity most recent transactions, or nil
// (history off) when capacity is 0.
func New(capacity int, now func() time.Time) *History {
	if capacity <= 0 {
		return nil
	}
	return &History{now: now, byID: make(map[string]*txHistory), cap: capacity}
}

// Event adds a free-text timeline entry ("finished", operator actions).
func (h *History) Event(txID, what string) {
	if h == nil {
		return
	}
	h.add(txID, event{kind: evText, text: what})
}

// PrepareSent records one Prepare call to pid.
func (h *History) PrepareSent(txID, pid string) {
	if h == nil {
		return
	}
	h.with(txID, func(tx *txHistory, at int64) {
		p := tx.part(pid)
		p.prepares++
		tx.add(event{at: at, kind: evPrepare, pid: pid, n: uint64(p.prepares)})
	})
}

// Vote records pid's phase-1 vote.
func (h *History) Vote(txID, pid string, vote arbiterpb.Vote, reason string) {
	if h == nil {
		return
	}
	reason = Clip(reason)
	h.with(txID, func(tx *txHistory, at int64) {
		p := tx.part(pid)
		p.vote, p.reason = vote, reason
		tx.add(event{at: at, kind: evVote, pid: pid, vote: vote, text: reason})
	})
}

// Acked records pid's phase-2 acknowledgement of out.
func (h *History) Acked(txID, pid string, out arbiterpb.Outcome) {
	if h == nil {
		return
	}
	h.with(txID, func(tx *txHistory, at int64) {
		p := tx.part(pid)
		p.ackOut, p.ackAt = out, at
		tx.add(event{at: at, kind: evAck, pid: pid, out: out})
	})
}

// Retry records a failed phase-2 delivery to pid that will be retried.
// Consecutive retries to pid with the same error share one timeline entry.
func (h *History) Retry(txID, pid string, err error) {
	if h == nil {
		return
	}
	msg := "unknown error"
	if err != nil {
		msg = Clip(err.Error())
	}
	h.with(txID, func(tx *txHistory, at int64) {
		p := tx.part(pid)
		p.retries++
		if p.lastErr == msg {
			msg = p.lastErr // share one copy of a repeated error
		}
		p.lastErr = msg
		if e := tx.lastRetry(pid); e != nil && e.text == msg {
			e.last, e.lastAt = uint64(p.retries), at
			return
		}
		tx.add(event{at: at, kind: evRetry, pid: pid, text: msg, n: uint64(p.retries), last: uint64(p.retries), lastAt: at})
	})
}

// Decided records the decision applied at index.
func (h *History) Decided(txID string, out arbiterpb.Outcome, index uint64) {
	if h == nil {
		return
	}
	h.add(txID, event{kind: evDecided, out: out, n: index})
}

// Get renders txID's history, if this node holds one.
func (h *History) Get(txID string) (*arbiterpb.TxTrace, bool) {
	if h == nil {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	tx, ok := h.byID[txID]
	if !ok {
		return nil, false
	}
	return tx.render(), true
}

func (h *History) add(txID string, e event) {
	h.with(txID, func(tx *txHistory, at int64) {
		e.at = at
		tx.add(e)
	})
}

// with runs f on txID's history, created (evicting the oldest) if needed,
// under the lock, with the current time.
func (h *History) with(txID string, f func(tx *txHistory, at int64)) {
	at := h.now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	tx, ok := h.byID[txID]
	if !ok {
		tx = &txHistory{events: make([]event, 0, 8)}
		h.insert(txID, tx)
	}
	f(tx, at)
}

func (h *History) insert(txID string, tx *txHistory) {
	if len(h.ring) < h.cap {
		h.ring = append(h.ring, txID)
	} else {
		delete(h.byID, h.ring[h.next])
		h.ring[h.next] = txID
		h.next = (h.next + 1) % h.cap
	}
	h.byID[txID] = tx
}

func (tx *txHistory) part(pid string) *partHistory {
	for i := range tx.parts {
		if tx.parts[i].id == pid {
			return &tx.parts[i]
		}
	}
	tx.parts = append(tx.parts, partHistory{id: pid})
	return &tx.parts[len(tx.parts)-1]
}

// add appends e, dropping the oldest event after the head when full.
func (tx *txHistory) add(e event) {
	if len(tx.events) < maxEvents {
		tx.events = append(tx.events, e)
		return
	}
	copy(tx.events[headEvents:], tx.events[headEvents+1:])
	tx.events[len(tx.events)-1] = e
	tx.omitted++
}

// lastRetry is pid's most recent retry event, if only retry events (to
// any participant) follow it: a vote or an ack in between starts a new one.
func (tx *txHistory) lastRetry(pid string) *event {
	for i := len(tx.events) - 1; i >= 0 && tx.events[i].kind == evRetry; i-- {
		if tx.events[i].pid == pid {
			return &tx.events[i]
		}
	}
	return nil
}

// Clip bounds s to maxText bytes without splitting a UTF-8 sequence: the
// form in which an error or reason enters a history.
func Clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	i := maxText
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
