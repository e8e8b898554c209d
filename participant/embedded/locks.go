package embedded

import (
	"context"
	"fmt"
	"sync"

	"github.com/arbiter-tx/arbiter/participant"
)

// lockTable holds per-key exclusive locks owned by transaction IDs. A lock
// is re-entrant for its owner. Waiters sleep on a channel closed at release.
type lockTable struct {
	mu     sync.Mutex
	owner  map[string]string              // key -> tx ID
	held   map[string]map[string]struct{} // tx ID -> keys
	waitCh map[string]chan struct{}       // key -> closed when released
}

func newLockTable() *lockTable {
	return &lockTable{
		owner:  make(map[string]string),
		held:   make(map[string]map[string]struct{}),
		waitCh: make(map[string]chan struct{}),
	}
}

// acquire takes key for txID, waiting while another transaction holds it.
func (l *lockTable) acquire(ctx context.Context, key, txID string) error {
	for {
		ch, ok := l.tryAcquire(key, txID)
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: key %q held by another transaction: %v", participant.ErrLockTimeout, key, ctx.Err())
		}
	}
}

// tryAcquire takes key if free (or already ours); else it returns the
// channel to wait on.
func (l *lockTable) tryAcquire(key, txID string) (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if owner, ok := l.owner[key]; ok && owner != txID {
		ch := l.waitCh[key]
		if ch == nil {
			ch = make(chan struct{})
			l.waitCh[key] = ch
		}
		return ch, false
	}
	l.owner[key] = txID
	if l.held[txID] == nil {
		l.held[txID] = make(map[string]struct{})
	}
	l.held[txID][key] = struct{}{}
	return nil, true
}

// releaseAll releases every key txID holds and wakes their waiters.
func (l *lockTable) releaseAll(txID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key := range l.held[txID] {
		delete(l.owner, key)
		if ch := l.waitCh[key]; ch != nil {
			close(ch)
			delete(l.waitCh, key)
		}
	}
	delete(l.held, txID)
}

// holder returns the tx ID holding key, if any.
func (l *lockTable) holder(key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	owner, ok := l.owner[key]
	return owner, ok
}
