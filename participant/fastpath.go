package participant

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Shortcuts around the full two-phase path: one-phase commit, read-only
// votes, and Refuse for the recovery of parallel-commit transactions.

func voteCommitted() *arbiterpb.PrepareResponse {
	return &arbiterpb.PrepareResponse{Vote: arbiterpb.Vote_VOTE_COMMITTED}
}

func voteReadOnly() *arbiterpb.PrepareResponse {
	return &arbiterpb.PrepareResponse{Vote: arbiterpb.Vote_VOTE_READ_ONLY}
}

// errPreparedNotOnePhase answers a one-phase Prepare for work that is
// prepared in two phases: only the coordinator's decision may settle it.
var errPreparedNotOnePhase = errors.New("transaction is prepared in two phases; a one-phase request cannot decide it, the coordinator's decision will")

// prepareOnePhase runs under the transaction's lock: it runs the branch and
// commits it at once. A retried request reports the outcome recorded.
func (a *Agent[T]) prepareOnePhase(ctx context.Context, req *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	st, err := a.res.State(ctx, req.GetTxId())
	if err != nil {
		return nil, err
	}
	switch st {
	case StateCommitted:
		return voteCommitted(), nil
	case StateAborted:
		return voteNo("already aborted"), nil
	case StatePrepared:
		return nil, status.Error(codes.FailedPrecondition, errPreparedNotOnePhase.Error())
	}
	if len(req.GetPayload()) == 0 {
		return a.refuse(ctx, req.GetTxId(), errors.New("a one-phase commit needs a payload for the handler"))
	}
	if err := a.runOnePhase(ctx, req); err != nil {
		return a.refuse(ctx, req.GetTxId(), err)
	}
	a.committed.Add(1)
	return voteCommitted(), nil
}

// runOnePhase executes the payload and commits it in one durable write when
// the Resource can, else prepares and commits.
func (a *Agent[T]) runOnePhase(ctx context.Context, req *arbiterpb.PrepareRequest) error {
	if a.handler == nil {
		return errors.New("no handler registered for payloads")
	}
	txID := req.GetTxId()
	tx, err := a.res.Begin(ctx, txID)
	if err != nil {
		return err
	}
	if err = a.handler(ctx, tx, req.GetPayload()); err == nil {
		if oc, ok := a.res.(OnePhaseCommitter[T]); ok {
			err = oc.CommitOnePhase(ctx, txID, tx)
		} else if err = a.res.Prepare(ctx, txID, tx, a.deadline(req.GetDeadlineUnixNanos())); err == nil {
			// Prepared: from here only a commit may follow (a crash now
			// leaves prepared work that recovery settles as any other).
			return a.res.Commit(ctx, txID)
		}
	}
	if err != nil {
		a.rollback(ctx, txID, tx)
	}
	return err
}

// readOnly rolls back tx and reports true when the coordinator allows a
// read-only vote and the Resource says tx wrote nothing.
func (a *Agent[T]) readOnly(ctx context.Context, req *arbiterpb.PrepareRequest, tx T) bool {
	ro, ok := a.res.(ReadOnlyReporter[T])
	if !req.GetReadOnlyOk() || !ok || !ro.ReadOnly(tx) {
		return false
	}
	a.rollback(ctx, req.GetTxId(), tx)
	return true
}

func (a *Agent[T]) rollback(ctx context.Context, txID string, tx T) {
	if err := a.res.Rollback(ctx, txID, tx); err != nil {
		a.log.Warn("rollback failed", zap.String("tx-id", txID), zap.Error(err))
	}
}

// Refuse answers the recovery of a parallel-commit transaction: PREPARED if
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
