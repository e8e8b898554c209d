package participant

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"go.uber.org/zap"
	"google.golang.org/grpc/status"
)

// Do joins the transaction whose ID ctx carries (client.TxIDFromContext:
// gRPC metadata or client.WithTxID), service-driven: the service calls it
// from its own request handler. Do begins a local transaction, runs fn in it,
// enlists this participant with the coordinators (which returns the
// transaction's deadline), then prepares the local transaction durably. The
// local work commits or aborts later, on the coordinators' decision.
//
// Enlisting before preparing means a failed Enlist leaves nothing durable
// and nothing the coordinator knows about: the local transaction is simply
// rolled back. The other order would leave prepared work that the
// coordinator may or may not know about when an Enlist times out. If Prepare
// fails after a successful Enlist, Do records an abort tombstone before any
// coordinator Prepare or Refuse can look, so they answer no and the
// transaction aborts. If even the tombstone cannot be written, Do fails
// with codes.Unknown (ErrAbortNotRecorded): the agent votes no for the
// transaction and retries the abort.
//
// Without a transaction ID, or with one the coordinators would not issue
// (validTxID), Do returns a codes.InvalidArgument status. An
// error from fn is returned as is; every other error carries a gRPC status
// (StatusError) and may be returned from a gRPC handler unchanged. One
// global transaction has at most one local transaction per participant: a
// second Do for the same ID fails with codes.AlreadyExists.
func (a *Agent[T]) Do(ctx context.Context, fn func(ctx context.Context, tx T) error) error {
	txID, ok := client.TxIDFromContext(ctx)
	if !ok {
		return StatusError(ErrNoTxID)
	}
	if err := validTxID(txID); err != nil {
		return StatusError(err)
	}
	tx, err := a.res.Begin(ctx, txID)
	if err != nil {
		return StatusError(err)
	}
	if err := a.work(ctx, txID, tx, fn); err != nil {
		if rerr := a.res.Rollback(ctx, txID, tx); rerr != nil {
			a.log.Warn("rollback failed", zap.String("tx-id", txID), zap.Error(rerr))
		}
		return err
	}
	return nil
}

// work runs fn, enlists and prepares. Any error leaves tx unprepared, or
// prepared and doomed (ErrAbortNotRecorded).
func (a *Agent[T]) work(ctx context.Context, txID string, tx T, fn func(context.Context, T) error) error {
	if err := fn(ctx, tx); err != nil {
		return err
	}
	deadline, err := a.enlist(ctx, txID)
	if err != nil {
		return err
	}
	a.cfg.failpoint(failpoint.DoAfterEnlist)
	return a.prepareEnlisted(ctx, txID, tx, deadline)
}

func (a *Agent[T]) enlist(ctx context.Context, txID string) (time.Time, error) {
	req := &arbiterpb.EnlistRequest{TxId: txID, ParticipantId: a.cfg.ID}
	var resp *arbiterpb.EnlistResponse
	err := a.coord.call(ctx, func(ctx context.Context, c arbiterpb.CoordinatorClient) (err error) {
		resp, err = c.Enlist(ctx, req)
		return err
	})
	if err != nil {
		a.log.Warn("enlist failed", zap.String("tx-id", txID), zap.Error(err))
		if _, ok := status.FromError(err); ok {
			return time.Time{}, err
		}
		return time.Time{}, StatusError(err)
	}
	return a.deadline(resp.GetDeadlineUnixNanos()), nil
}

// prepareEnlisted prepares tx and, if that fails, records the abort, all
// under one hold of txID's lock: a failed prepare may still have made the
// work durable (a connection broken during PREPARE TRANSACTION), and a
// coordinator Prepare or a Refuse let in between would see it prepared and
// answer yes for work about to be aborted.
func (a *Agent[T]) prepareEnlisted(ctx context.Context, txID string, tx T, deadline time.Time) error {
	unlock, err := a.txs.lock(ctx, txID)
	if err != nil {
		return StatusError(err)
	}
	defer unlock()
	perr := a.prepareLocal(ctx, txID, tx, deadline)
	if perr == nil {
		return nil
	}
	if err := a.recordAbort(ctx, txID); err != nil {
		return StatusError(fmt.Errorf("participant: prepare %s: %v; then abort: %w", txID, perr, err))
	}
	return StatusError(fmt.Errorf("participant: prepare %s: %w", txID, perr))
}
