package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// txTimeout bounds one transaction (all its calls) in the driver.
const txTimeout = 10 * time.Second

// Phases of a step: results are counted only while measuring.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// tally is what the workers saw while measuring.
type tally struct {
	mu        sync.Mutex
	committed int
	aborted   int
	errors    int
	firstErr  string
	lat       []time.Duration
}

// driver runs closed-loop workers: each starts its next transaction as
// soon as the previous one returns.
type driver struct {
	cli      *client.Client
	parts    []string // participant IDs
	branches int      // participants per transaction
	flow     flow
	tag      string // unique per step, part of every account key
	phase    atomic.Int32
	tally    tally
	// done, aborts and errs count measured transactions as they end (the
	// tally has them only when the workers stop); a soak reads them live.
	done, aborts, errs atomic.Int64
	wg                 sync.WaitGroup
}

// newClient makes a client for the driver.
func newClient(addrs []string) (*client.Client, error) {
	return client.New(client.Config{Addresses: addrs, ClientID: "bench", AttemptTimeout: txTimeout, Insecure: true})
}

// start launches n workers.
func (d *driver) start(ctx context.Context, n int) {
	for w := range n {
		d.wg.Go(func() { d.worker(ctx, w) })
	}
}

// stop ends the measurement and waits for in-flight transactions.
func (d *driver) stop() {
	d.phase.Store(phaseStop)
	d.wg.Wait()
}

func (d *driver) worker(ctx context.Context, w int) {
	var lat []time.Duration
	var committed, aborted, errs int
	var firstErr error
	for seq := 0; d.phase.Load() != phaseStop && ctx.Err() == nil; seq++ {
		start := time.Now()
		out, err := d.transaction(ctx, w, seq)
		took := time.Since(start)
		if d.phase.Load() != phaseMeasure {
			continue
		}
		switch {
		case err != nil:
			errs++
			d.errs.Add(1)
			firstErr = firstOf(firstErr, err)
		case out == arbiterpb.Outcome_OUTCOME_COMMIT:
			committed++
			d.done.Add(1)
			lat = append(lat, took)
		default:
			aborted++
			d.aborts.Add(1)
		}
	}
	d.tally.add(committed, aborted, errs, firstErr, lat)
}

// firstOf keeps the first error seen.
func firstOf(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func (t *tally) add(committed, aborted, errs int, firstErr error, lat []time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.committed += committed
	t.aborted += aborted
	t.errors += errs
	if firstErr != nil && t.firstErr == "" {
		t.firstErr = firstErr.Error()
	}
	t.lat = append(t.lat, lat...)
}

// transaction runs d.branches branches on distinct participants in d's
// flow, each crediting +1 to an account no other transaction uses.
func (d *driver) transaction(ctx context.Context, w, seq int) (arbiterpb.Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, txTimeout)
	defer cancel()
	key := fmt.Sprintf("k-%s-%d-%d", d.tag, w, seq)
	branches := make([]*arbiterpb.Branch, d.branches)
	for i := range branches {
		branches[i] = &arbiterpb.Branch{
			ParticipantId: d.parts[(w+seq+i)%len(d.parts)],
			Payload:       bank.EncodePayload([]*bankpb.Op{{Account: key, Delta: 1}}, nil),
		}
	}
	return d.flow.run(ctx, d.cli, branches)
}
