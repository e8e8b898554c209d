// Package txstate is what the storage adapters (embedded, postgres, mysql)
// share about a local transaction's state: the error for an operation that
// needs a transaction ID with no state yet, and the latch that marks a
// local transaction's handle finished.
package txstate

import (
	"fmt"
	"sync"

	"github.com/arbiter-tx/arbiter/participant"
)

// NeedNone is the error for an operation that needs state None (Begin,
// Prepare, a one-phase commit): ErrAlreadyAborted, ErrAlreadyCommitted or
// ErrTxExists (prepared), naming txID. It is nil for StateNone.
func NeedNone(st participant.State, txID string) error {
	switch st {
	case participant.StateAborted:
		return fmt.Errorf("%w: %s", participant.ErrAlreadyAborted, txID)
	case participant.StateCommitted:
		return fmt.Errorf("%w: %s", participant.ErrAlreadyCommitted, txID)
	case participant.StatePrepared:
		return fmt.Errorf("%w: %s is prepared", participant.ErrTxExists, txID)
	}
	return nil
}

// Latch marks a local transaction's handle finished (prepared, committed
// in one phase, rolled back or aborted), once: every later use of the
// handle fails with the error it was finished with. The zero value is
// open. It is safe for concurrent use.
type Latch struct {
	mu   sync.Mutex
	done error
}

// Err returns the error the handle was finished with, nil while open.
func (l *Latch) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// Finish marks the handle finished with err. If it was finished already,
// Finish changes nothing and returns the first error.
func (l *Latch) Finish(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return l.done
	}
	l.done = err
	return nil
}
