package participant

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Refuse, the participant's part of the shorter paths' recovery: the
// coordinator asks the participants of a staged transaction (a parallel
// commit, or a one-phase commit whose answer it lost) to refuse it.

// Refuse answers the recovery of a staged transaction: PREPARED if
// this participant's yes vote is durable (or the work already committed),
// else it durably aborts the transaction, so that a late Prepare is refused,
// and answers REFUSED.
func (s *service[T]) Refuse(ctx context.Context, req *arbiterpb.RefuseRequest) (*arbiterpb.RefuseResponse, error) {
	if err := s.a.authorize(ctx, "Refuse", security.RoleCoordinator); err != nil {
		return nil, err
	}
	if err := validTxID(req.GetTxId()); err != nil {
		return nil, StatusError(err)
	}
	unlock, err := s.a.txs.lock(ctx, req.GetTxId())
	if err != nil {
		return nil, StatusError(err)
	}
	defer unlock()
	if err := s.a.fence(ctx, req.GetTerm()); err != nil {
		return nil, StatusError(err)
	}
	if err := s.a.settleDoomed(ctx, req.GetTxId()); err != nil {
		return nil, StatusError(err)
	}
	st, err := s.a.refuseLocked(ctx, req.GetTxId())
	if err != nil {
		return nil, StatusError(err)
	}
	return &arbiterpb.RefuseResponse{State: st}, nil
}

func (a *Agent[T]) refuseLocked(ctx context.Context, txID string) (arbiterpb.LocalState, error) {
	st, err := a.res.State(ctx, txID)
	if err != nil {
		return arbiterpb.LocalState_LOCAL_STATE_UNKNOWN, err
	}
	switch st {
	case StatePrepared, StateCommitted:
		return arbiterpb.LocalState_LOCAL_STATE_PREPARED, nil
	case StateAborted:
		return arbiterpb.LocalState_LOCAL_STATE_REFUSED, nil
	}
	if err := a.res.Abort(ctx, txID); err != nil && !errors.Is(err, ErrAlreadyAborted) {
		return arbiterpb.LocalState_LOCAL_STATE_UNKNOWN, fmt.Errorf("record refusal of %s: %w", txID, err)
	}
	a.aborted.Add(1)
	a.log.Info("refused a staging transaction", zap.String("tx-id", txID))
	return arbiterpb.LocalState_LOCAL_STATE_REFUSED, nil
}
