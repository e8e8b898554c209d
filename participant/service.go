package participant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"go.uber.org/zap"
)

// service implements arbiterpb.ParticipantServer for an Agent.
type service[T any] struct {
	arbiterpb.UnimplementedParticipantServer
	a *Agent[T]
}

func voteYes() *arbiterpb.PrepareResponse {
	return &arbiterpb.PrepareResponse{Vote: arbiterpb.Vote_VOTE_YES}
}

func voteNo(reason string) *arbiterpb.PrepareResponse {
	return &arbiterpb.PrepareResponse{Vote: arbiterpb.Vote_VOTE_NO, Reason: reason}
}

// Prepare votes on req.TxId. A retried Prepare returns the vote already
// given: a prepared or committed transaction votes yes, an aborted one no.
// Errors reading local state are returned as gRPC errors (the coordinator
// retries); errors of the local work are no votes.
func (s *service[T]) Prepare(ctx context.Context, req *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	if err := s.a.authorize(ctx, "Prepare", security.RoleCoordinator); err != nil {
		return nil, err
	}
	return s.a.prepareOne(ctx, req)
}

// prepareOne handles one authorized Prepare request (alone or in a batch).
func (a *Agent[T]) prepareOne(ctx context.Context, req *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	defer a.timed(stepPrepare, time.Now())
	if err := validTxID(req.GetTxId()); err != nil {
		return nil, StatusError(err)
	}
	unlock, err := a.txs.lock(ctx, req.GetTxId())
	if err != nil {
		return nil, StatusError(err)
	}
	defer unlock()
	if err := a.settleDoomed(ctx, req.GetTxId()); err != nil {
		return nil, StatusError(err)
	}
	prepare := a.prepare
	if req.GetOnePhase() {
		prepare = a.prepareOnePhase
	}
	resp, err := prepare(ctx, req)
	if err != nil {
		return nil, StatusError(err)
	}
	a.countVote(resp.GetVote() != arbiterpb.Vote_VOTE_NO)
	if resp.GetVote() == arbiterpb.Vote_VOTE_YES && a.cfg.Failpoint != nil {
		// Fire once the answer has had time to leave: a crash right after
		// the yes vote was sent.
		time.AfterFunc(5*time.Millisecond, func() { a.cfg.failpoint(failpoint.VoteAfterSend) })
	}
	return resp, nil
}

// prepare runs under the transaction's lock.
func (a *Agent[T]) prepare(ctx context.Context, req *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	st, err := a.res.State(ctx, req.GetTxId())
	if err != nil {
		return nil, err
	}
	switch st {
	case StatePrepared, StateCommitted:
		return voteYes(), nil
	case StateAborted:
		return voteNo("already aborted"), nil
	}
	if len(req.GetPayload()) == 0 {
		return a.refuse(ctx, req.GetTxId(), errors.New("no local work for this transaction (lost or never done)"))
	}
	readOnly, err := a.runBranch(ctx, req)
	if err != nil {
		return a.refuse(ctx, req.GetTxId(), err)
	}
	if readOnly {
		return voteReadOnly(), nil
	}
	return voteYes(), nil
}

// runBranch executes the payload in a new local transaction and prepares it,
// or rolls it back and reports readOnly when it wrote nothing and the
// coordinator allows a read-only vote. On error the local transaction is
// rolled back.
func (a *Agent[T]) runBranch(ctx context.Context, req *arbiterpb.PrepareRequest) (readOnly bool, err error) {
	if a.handler == nil {
		return false, errors.New("no handler registered for payloads")
	}
	txID := req.GetTxId()
	tx, err := a.res.Begin(ctx, txID)
	if err != nil {
		return false, err
	}
	if err = a.handler(ctx, tx, req.GetPayload()); err == nil {
		if a.readOnly(ctx, req, tx) {
			return true, nil
		}
		err = a.prepareLocal(ctx, txID, tx, a.deadline(req.GetDeadlineUnixNanos()))
	}
	if err != nil {
		a.rollback(ctx, txID, tx)
	}
	return false, err
}

// rollback rolls tx back, logging a failure: the local transaction is
// abandoned either way.
func (a *Agent[T]) rollback(ctx context.Context, txID string, tx T) {
	if err := a.res.Rollback(ctx, txID, tx); err != nil {
		a.log.Warn("rollback failed", zap.String("tx-id", txID), zap.Error(err))
	}
}

// prepareLocal makes tx durable, between the two prepare failpoints.
func (a *Agent[T]) prepareLocal(ctx context.Context, txID string, tx T, deadline time.Time) error {
	a.cfg.failpoint(failpoint.PrepareBeforeDurable)
	start := time.Now()
	if err := a.res.Prepare(ctx, txID, tx, deadline); err != nil {
		return err
	}
	a.timed(stepDurable, start)
	a.cfg.failpoint(failpoint.PrepareAfterDurable)
	return nil
}

// refuse records an abort tombstone, so that a late or retried Prepare is
// refused too, and votes no with cause as the reason. If the tombstone
// cannot be written, no vote is given: the error is returned so that the
// coordinator retries, and txID is doomed (doomed.go), so no retry votes
// yes before the abort is recorded.
func (a *Agent[T]) refuse(ctx context.Context, txID string, cause error) (*arbiterpb.PrepareResponse, error) {
	// The tombstone is written even when the caller has given up (often
	// the cause: a lock wait that ran into its deadline), so a late retry
	// of this Prepare is refused rather than run again.
	if err := a.recordAbort(ctx, txID); err != nil {
		return nil, fmt.Errorf("participant: no vote on %s after %v; then abort: %w", txID, cause, err)
	}
	a.log.Info("voted no", zap.String("tx-id", txID), zap.String("reason", cause.Error()))
	return voteNo(cause.Error()), nil
}

// refuseTimeout bounds the tombstone write of a no vote.
const refuseTimeout = 5 * time.Second

func (a *Agent[T]) deadline(unixNanos int64) time.Time {
	if unixNanos <= 0 {
		return time.Now().Add(a.cfg.FallbackDeadline)
	}
	return time.Unix(0, unixNanos)
}

// Commit applies a prepared transaction after checking the fencing term.
func (s *service[T]) Commit(ctx context.Context, req *arbiterpb.DecisionRequest) (*arbiterpb.DecisionResponse, error) {
	if err := s.a.authorize(ctx, "Commit", security.RoleCoordinator); err != nil {
		return nil, err
	}
	return s.decide(ctx, req, s.a.commitLocked)
}

// Abort discards a transaction after checking the fencing term.
func (s *service[T]) Abort(ctx context.Context, req *arbiterpb.DecisionRequest) (*arbiterpb.DecisionResponse, error) {
	if err := s.a.authorize(ctx, "Abort", security.RoleCoordinator); err != nil {
		return nil, err
	}
	return s.decide(ctx, req, s.a.abortLocked)
}

// decide applies a phase-2 decision after the term check, in one step
// under the transaction's lock (applyFenced).
func (s *service[T]) decide(ctx context.Context, req *arbiterpb.DecisionRequest, apply func(context.Context, string) error) (*arbiterpb.DecisionResponse, error) {
	if err := validTxID(req.GetTxId()); err != nil {
		return nil, StatusError(err)
	}
	if err := s.a.applyFenced(ctx, req.GetTxId(), req.GetTerm(), apply); err != nil {
		return nil, StatusError(err)
	}
	return &arbiterpb.DecisionResponse{}, nil
}

// Inspect lists prepared transactions, the highest term and the counters.
func (s *service[T]) Inspect(ctx context.Context, _ *arbiterpb.InspectRequest) (*arbiterpb.InspectResponse, error) {
	if err := s.a.authorize(ctx, "Inspect", security.RoleCoordinator, security.RoleAdmin); err != nil {
		return nil, err
	}
	prepared, err := s.a.res.Prepared(ctx)
	if err != nil {
		return nil, StatusError(err)
	}
	term, err := s.a.res.Term(ctx)
	if err != nil {
		return nil, StatusError(err)
	}
	resp := &arbiterpb.InspectResponse{
		ParticipantId: s.a.cfg.ID, HighestTerm: term,
		Committed: s.a.committed.Load(), Aborted: s.a.aborted.Load(),
	}
	for _, p := range prepared {
		resp.Prepared = append(resp.Prepared, &arbiterpb.PreparedTx{TxId: p.TxID, DeadlineUnixNanos: p.Deadline.UnixNano()})
	}
	return resp, nil
}
