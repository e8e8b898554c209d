package participant

import (
	"context"
	"sync"
)

// txMutex serializes work on one transaction ID (two concurrent Prepares of
// one ID must not both run the handler). Entries are reference counted and
// dropped when unused, so memory follows the in-flight set.
type txMutex struct {
	mu sync.Mutex
	m  map[string]*txEntry
}

type txEntry struct {
	sem  chan struct{}
	refs int
}

func newTxMutex() *txMutex {
	return &txMutex{m: make(map[string]*txEntry)}
}

// lock takes txID's lock, or fails when ctx is done first.
func (t *txMutex) lock(ctx context.Context, txID string) (unlock func(), err error) {
	e := t.ref(txID)
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem; t.unref(txID) }, nil
	case <-ctx.Done():
		t.unref(txID)
		return nil, ctx.Err()
	}
}

func (t *txMutex) ref(txID string) *txEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[txID]
	if !ok {
		e = &txEntry{sem: make(chan struct{}, 1)}
		t.m[txID] = e
	}
	e.refs++
	return e
}

func (t *txMutex) unref(txID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.m[txID]; e != nil {
		if e.refs--; e.refs == 0 {
			delete(t.m, txID)
		}
	}
}
