package participant

import (
	"context"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"go.uber.org/zap"
)

// recoveryLoop resolves in-doubt prepared work: every prepared transaction
// on the first pass (the agent may have missed phase 2 while down), then
// those whose deadline has passed, every ResolveInterval until Close.
func (a *Agent[T]) recoveryLoop() {
	defer a.wg.Done()
	ctx := a.life
	a.resolvePass(ctx, time.Time{})
	t := time.NewTicker(a.cfg.ResolveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a.settleAllDoomed(ctx)
			a.resolvePass(ctx, now)
		}
	}
}

// resolvePass resolves every prepared transaction whose deadline is before
// now; the zero now means all of them.
func (a *Agent[T]) resolvePass(ctx context.Context, now time.Time) {
	prepared, err := a.res.Prepared(ctx)
	if err != nil {
		a.log.Warn("list prepared transactions", zap.Error(err))
		return
	}
	for _, p := range prepared {
		if ctx.Err() != nil {
			return
		}
		if now.IsZero() || p.Deadline.Before(now) {
			a.resolve(ctx, p.TxID)
		}
	}
}

// resolve asks the coordinators for txID's decision and applies it.
func (a *Agent[T]) resolve(ctx context.Context, txID string) {
	req := &arbiterpb.ResolveRequest{TxId: txID, ParticipantId: a.cfg.ID}
	var resp *arbiterpb.ResolveResponse
	err := a.coord.call(ctx, func(ctx context.Context, c arbiterpb.CoordinatorClient) (err error) {
		resp, err = c.Resolve(ctx, req)
		return err
	})
	if err != nil {
		a.log.Warn("resolve failed, retrying next tick", zap.String("tx-id", txID), zap.Error(err))
		return
	}
	if err := a.res.SetTerm(ctx, resp.GetTerm()); err != nil {
		a.log.Warn("record term", zap.String("tx-id", txID), zap.Uint64("term", resp.GetTerm()), zap.Error(err))
	}
	if resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		a.resolved.Add(1)
	}
	a.apply(ctx, txID, resp.GetOutcome())
}

// apply applies a decision reported by Resolve. Such a decision is already
// applied in Raft and final, so it is not fenced by term.
func (a *Agent[T]) apply(ctx context.Context, txID string, outcome arbiterpb.Outcome) {
	var err error
	switch outcome {
	case arbiterpb.Outcome_OUTCOME_COMMIT:
		err = a.commit(ctx, txID)
	case arbiterpb.Outcome_OUTCOME_ABORT:
		err = a.abort(ctx, txID)
	default:
		a.log.Debug("transaction pending", zap.String("tx-id", txID))
		return
	}
	if err != nil {
		a.log.Warn("apply resolved decision", zap.String("tx-id", txID), zap.Stringer("outcome", outcome), zap.Error(err))
		return
	}
	a.log.Info("resolved in-doubt transaction", zap.String("tx-id", txID), zap.Stringer("outcome", outcome))
}
