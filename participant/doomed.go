package participant

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"go.uber.org/zap"
)

// doomedSet holds the transactions this agent has refused (a failed local
// prepare, a no vote) whose abort tombstone could not be written: their
// work may be durable, prepared and unmarked. Until the tombstone is
// recorded, a Prepare or Refuse of such a transaction first retries it and
// never answers yes or PREPARED, and the recovery loop retries it every
// tick. The set lives in memory: see DESIGN.md for a restart in between.
type doomedSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func newDoomedSet() *doomedSet { return &doomedSet{m: make(map[string]struct{})} }

func (d *doomedSet) add(txID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[txID] = struct{}{}
}

func (d *doomedSet) remove(txID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, txID)
}

func (d *doomedSet) has(txID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.m[txID]
	return ok
}

func (d *doomedSet) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]string, 0, len(d.m))
	for id := range d.m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// recordAbort writes txID's abort tombstone after this agent refused it,
// with a context of its own (the caller's may be why the work failed). It
// runs under txID's lock. If the tombstone cannot be written, txID is
// doomed (no later Prepare or Refuse answers yes for it until it is) and
// the error wraps ErrAbortNotRecorded. An ErrAlreadyCommitted (the work
// committed after all) is returned as is: there is nothing to retry.
func (a *Agent[T]) recordAbort(ctx context.Context, txID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refuseTimeout)
	defer cancel()
	err := a.abortLocked(ctx, txID)
	if err == nil || errors.Is(err, ErrAlreadyCommitted) {
		return err
	}
	a.doomed.add(txID)
	a.log.Error("abort of a refused transaction not recorded; retrying, and voting no meanwhile",
		zap.String("tx-id", txID), zap.Error(err))
	return fmt.Errorf("%w: %s: %v", ErrAbortNotRecorded, txID, err)
}

// settleDoomed retries the tombstone of a doomed txID, under its lock. It
// returns an error (and nothing may vote yes) while it still fails.
func (a *Agent[T]) settleDoomed(ctx context.Context, txID string) error {
	if !a.doomed.has(txID) {
		return nil
	}
	if err := a.recordAbort(ctx, txID); err != nil {
		return err
	}
	a.log.Info("abort of a refused transaction recorded", zap.String("tx-id", txID))
	return nil
}

// settleAllDoomed retries every doomed transaction's tombstone (the
// recovery loop calls it each tick).
func (a *Agent[T]) settleAllDoomed(ctx context.Context) {
	for _, txID := range a.doomed.list() {
		unlock, err := a.txs.lock(ctx, txID)
		if err != nil {
			return
		}
		_ = a.settleDoomed(ctx, txID)
		unlock()
	}
}
