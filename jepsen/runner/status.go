package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// statusWorker runs the transaction-status workload: it prepares a small
// transfer service-driven, then races Commit, Abort and Status calls on the
// same ID from several goroutines. Every call is recorded; the history of
// each ID is checked for linearizability against a write-once register.
type statusWorker struct {
	id  int
	env *env
	rng *rand.Rand
}

func (w *statusWorker) loop(ctx context.Context) {
	for ctx.Err() == nil {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 12*time.Second)
		w.once(tctx)
		cancel()
	}
}

func (w *statusWorker) once(ctx context.Context) {
	banks := w.env.cluster.Banks
	a := w.rng.IntN(len(banks))
	b := (a + 1 + w.rng.IntN(len(banks)-1)) % len(banks)
	txID, err := w.env.cli.Begin(ctx, w.env.cfg.TxTimeout)
	if err != nil {
		return
	}
	parts := []string{banks[a].Name, banks[b].Name}
	tctx := client.WithTxID(ctx, txID)
	applied := true
	for i, p := range []int{a, b} {
		delta := []int64{-1, 1}[i]
		acct := banks[p].Name + "-" + itoa(w.rng.IntN(w.env.cfg.Accounts))
		if _, err := w.env.banks[p].Apply(tctx, applyReq(acct, delta)); err != nil {
			applied = false // as a real client would, abort a half-done transfer
			break
		}
	}
	w.race(ctx, txID, parts, applied)
}

// race issues Commit (only if every part was applied) and Abort
// concurrently with a few Status reads.
func (w *statusWorker) race(ctx context.Context, txID string, parts []string, applied bool) {
	kinds := []string{history.KindStatus, history.KindStatus}
	if applied {
		kinds = append(kinds, history.KindCommit)
	}
	if !applied || w.rng.IntN(2) == 0 {
		kinds = append(kinds, history.KindAbort)
	}
	var wg sync.WaitGroup
	for i, k := range kinds {
		delay := time.Duration(i*w.rng.IntN(5)) * time.Millisecond // drawn here: rng is not goroutine-safe
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(delay)
			w.call(ctx, k, txID, parts)
		}()
	}
	wg.Wait()
	w.call(ctx, history.KindStatus, txID, parts)
}

func (w *statusWorker) call(ctx context.Context, kind, txID string, parts []string) {
	op := history.Op{Worker: w.id, Kind: kind, TxID: txID, Start: w.env.rec.since(), Participants: parts}
	switch kind {
	case history.KindCommit:
		op.Outcome, op.Err = classify(w.env.commit(ctx, txID))
	case history.KindAbort:
		op.Outcome, op.Err = classify(w.env.cli.Abort(ctx, txID))
	default:
		w.status(ctx, &op)
	}
	w.env.rec.op(op)
}

func (w *statusWorker) status(ctx context.Context, op *history.Op) {
	info, err := w.env.cli.Status(ctx, op.TxID)
	switch {
	case err == nil:
		op.Status = stateName(info.GetState())
		op.Outcome = map[string]string{"COMMITTED": history.OutcomeCommit, "ABORTED": history.OutcomeAbort}[op.Status]
	case status.Code(err) == codes.NotFound:
		op.Status = "NOT_FOUND"
	case errors.Is(err, client.ErrOutcomeUnknown):
		op.Outcome, op.Err = history.OutcomeUnknown, err.Error()
	default:
		op.Outcome, op.Err = history.OutcomeUnknown, err.Error()
	}
}
