package embedded

import (
	"maps"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// overlay holds what the intent log has made durable and no checkpoint has
// applied to bbolt yet: each such transaction's latest state and each such
// committed value. Reads look here first, then in bbolt. A checkpoint
// drops an entry only after bbolt holds it, under mu, so a reader that
// holds mu.RLock across both looks never misses a change.
type overlay struct {
	mu      sync.RWMutex
	txs     map[string]txEntry
	data    map[string]dataEntry
	pending []*record // logged, not yet checkpointed, in LSN order
	bytes   int       // encoded size of pending
}

type txEntry struct {
	state    participant.State
	lsn      uint64
	deadline time.Time // prepared: the intent's deadline
	intent   []byte    // prepared: the encoded intent
}

type dataEntry struct {
	val []byte
	lsn uint64
}

func newOverlay() *overlay {
	return &overlay{txs: make(map[string]txEntry), data: make(map[string]dataEntry)}
}

// add makes logged records visible (the caller holds mu).
func (o *overlay) add(recs []*record) {
	for _, r := range recs {
		if r.kind == recTerm {
			continue
		}
		e := txEntry{state: r.state(), lsn: r.lsn}
		if r.kind == recPrepare {
			in, _ := decodeIntent(r.intent) // checked before it was logged
			e.deadline, e.intent = in.deadline, r.intent
		}
		o.txs[r.txID] = e
		for k, v := range r.writes {
			o.data[k] = dataEntry{val: v, lsn: r.lsn}
		}
	}
	o.pending = append(o.pending, recs...)
	for _, r := range recs {
		o.bytes += r.size
	}
}

// drop forgets the first n pending records, now in bbolt, unless a later
// record changed the same transaction or key (the caller holds mu).
func (o *overlay) drop(n int) {
	for _, r := range o.pending[:n] {
		if e, ok := o.txs[r.txID]; ok && e.lsn <= r.lsn {
			delete(o.txs, r.txID)
		}
		for k := range r.writes {
			if e, ok := o.data[k]; ok && e.lsn <= r.lsn {
				delete(o.data, k)
			}
		}
		o.bytes -= r.size
	}
	o.pending = append([]*record{}, o.pending[n:]...)
}

// state reads txID's state: the overlay's, else bbolt's (the caller holds
// mu, read or write).
func (o *overlay) state(btx *bolt.Tx, txID string) participant.State {
	if e, ok := o.txs[txID]; ok {
		return e.state
	}
	return txState(btx, txID)
}

// view runs fn with mu held shared and a bbolt read transaction: a
// consistent picture of the durable state, for short reads.
func (s *Store) view(fn func(btx *bolt.Tx) error) error {
	s.ov.mu.RLock()
	defer s.ov.mu.RUnlock()
	return s.db.View(fn)
}

// snapshot opens a bbolt read transaction and copies the overlay at one
// instant: a consistent picture that a long scan (ReadAll, Outcomes,
// Prepared) reads without holding up writes. The caller rolls btx back.
func (s *Store) snapshot() (*bolt.Tx, map[string]txEntry, map[string]dataEntry, error) {
	s.ov.mu.RLock()
	defer s.ov.mu.RUnlock()
	btx, err := s.db.Begin(false)
	if err != nil {
		return nil, nil, nil, err
	}
	return btx, maps.Clone(s.ov.txs), maps.Clone(s.ov.data), nil
}
