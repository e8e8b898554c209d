package participant

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// One-phase commit, one of the shorter paths: the only participant of a
// transaction runs its branch and commits at once, and votes COMMITTED.

func voteCommitted() *arbiterpb.PrepareResponse {
	return &arbiterpb.PrepareResponse{Vote: arbiterpb.Vote_VOTE_COMMITTED}
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
