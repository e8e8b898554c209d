package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/internal/txstate"
	bolt "go.etcd.io/bbolt"
)

// Tx is the local transaction of one global transaction ID. It sees its own
// writes; nothing it writes is visible to others before Commit.
type Tx struct {
	s  *Store
	id string

	mu     sync.Mutex
	writes map[string][]byte
	locked map[string]struct{} // every key locked by Get or Put

	latch txstate.Latch // finished once prepared, committed, rolled back or aborted
}

// ID returns the global transaction ID.
func (t *Tx) ID() string { return t.id }

// Get returns key's value as this transaction sees it, after taking the
// key's exclusive lock (waiting while another transaction, prepared or not,
// holds it; ErrLockTimeout when ctx or Options.LockTimeout runs out).
func (t *Tx) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := t.lock(ctx, key); err != nil {
		return nil, false, err
	}
	t.mu.Lock()
	v, ok := t.writes[key]
	t.mu.Unlock()
	if ok {
		return append([]byte{}, v...), true, nil
	}
	return t.s.Read(key)
}

// Put takes key's exclusive lock and buffers the write until Prepare. A
// key or value bbolt cannot store (an empty key, a key over 32768 bytes, a
// value over bbolt's MaxValueSize) is refused with ErrInvalidWrite, which
// names the limit: the commit could never apply it.
func (t *Tx) Put(ctx context.Context, key string, value []byte) error {
	if err := checkWrite(key, value); err != nil {
		return err
	}
	if err := t.lock(ctx, key); err != nil {
		return err
	}
	if err := t.latch.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writes[key] = append([]byte{}, value...)
	return nil
}

func (t *Tx) lock(ctx context.Context, key string) error {
	if err := t.latch.Err(); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.s.opts.LockTimeout)
		defer cancel()
	}
	if err := t.s.locks.acquire(ctx, key, t.id); err != nil {
		return err
	}
	t.mu.Lock()
	t.locked[key] = struct{}{}
	t.mu.Unlock()
	return nil
}

// errPrepared marks a Tx whose writes became an intent.
var errPrepared = errors.New("embedded: transaction is prepared; only Commit or Abort apply now")

// errCommitted marks a Tx committed in one phase.
var errCommitted = errors.New("embedded: transaction was committed (one phase)")

func (t *Tx) isPrepared() bool { return errors.Is(t.latch.Err(), errPrepared) }

// snapshot copies the buffered writes and lists the keys locked but not
// written (the read-only keys), for the intent.
func (t *Tx) snapshot() (writes map[string][]byte, reads []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	writes = make(map[string][]byte, len(t.writes))
	for k, v := range t.writes {
		writes[k] = v
	}
	for k := range t.locked {
		if _, ok := t.writes[k]; !ok {
			reads = append(reads, k)
		}
	}
	return writes, reads
}

// Begin starts txID's local transaction. It fails with
// participant.ErrTxExists if txID already has local work here, and with
// ErrAlreadyAborted / ErrAlreadyCommitted if txID was decided here.
func (s *Store) Begin(ctx context.Context, txID string) (*Tx, error) {
	if err := checkTxID(txID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.active[txID]; ok {
		return nil, fmt.Errorf("%w: %s is active", participant.ErrTxExists, txID)
	}
	st, err := s.State(ctx, txID)
	if err != nil {
		return nil, err
	}
	if err := txstate.NeedNone(st, txID); err != nil {
		return nil, err
	}
	t := &Tx{s: s, id: txID, writes: make(map[string][]byte), locked: make(map[string]struct{})}
	s.active[txID] = t
	return t, nil
}

// Rollback discards an unprepared local transaction and releases its locks.
// Rolling back a prepared transaction is refused: use Abort.
func (s *Store) Rollback(_ context.Context, txID string, tx *Tx) error {
	if err := tx.latch.Finish(fmt.Errorf("embedded: transaction %s rolled back", txID)); err != nil {
		if tx.isPrepared() {
			return fmt.Errorf("embedded: rollback of prepared %s: use Abort", txID)
		}
		// Already rolled back or doomed by Abort: finish the release anyway.
	}
	s.forget(txID, tx)
	s.locks.releaseAll(txID)
	return nil
}

// forget drops tx from the active set if it is still the active one.
func (s *Store) forget(txID string, tx *Tx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[txID] == tx {
		delete(s.active, txID)
	}
}

// State reports txID's durable state.
func (s *Store) State(ctx context.Context, txID string) (participant.State, error) {
	if err := ctx.Err(); err != nil {
		return participant.StateNone, err
	}
	var st participant.State
	err := s.view(func(btx *bolt.Tx) error {
		st = s.ov.state(btx, txID)
		return nil
	})
	return st, err
}
