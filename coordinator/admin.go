package coordinator

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/coordinator/internal/txhistory"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// adminServer serves the Admin service of a Coordinator. It is a separate
// type because two generated Unimplemented*Server embeddings in one struct
// collide.
type adminServer struct {
	arbiterpb.UnimplementedAdminServer
	c *Coordinator
}

// AdminServer returns this node's Admin service. Register it on the same
// gRPC server as the Coordinator service: ServerOptions authorizes both.
func (c *Coordinator) AdminServer() arbiterpb.AdminServer { return &adminServer{c: c} }

// RetryPhase2 restarts phase 2 of a decided, unfinished transaction on the
// leader without backoff, and resets the reconnect backoff of its
// participants' connections.
func (a *adminServer) RetryPhase2(ctx context.Context, req *arbiterpb.RetryPhase2Request) (*arbiterpb.RetryPhase2Response, error) {
	c := a.c
	if err := validID("tx_id", req.GetTxId()); err != nil {
		return nil, toStatus(err)
	}
	ls := c.leader()
	if ls == nil {
		resp, err := forward[arbiterpb.RetryPhase2Request, arbiterpb.RetryPhase2Response](ctx, c, arbiterpb.Admin_RetryPhase2_FullMethodName, req)
		return resp, toStatus(err)
	}
	rec, ok := c.node.FSM().Get(req.GetTxId())
	if !ok {
		return nil, toStatus(unknownTx(req.GetTxId()))
	}
	if rec = c.settled(rec); rec.GetState() == arbiterpb.TxState_TX_STATE_STAGING {
		var err error // a parallel commit with no decision yet: settle it by asking its participants
		if rec, err = c.awaitStaging(ctx, ls, rec); err != nil {
			return nil, toStatus(fmt.Errorf("transaction %s is staging (parallel commit): recovery is asking every participant and had no answer yet (%w); run this again, or read `arbiter tx show %s`", req.GetTxId(), err, req.GetTxId()))
		}
	}
	out := outcomeOf(rec)
	if out == arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return nil, toStatus(fmt.Errorf("%w: transaction %s has no decision, so there is nothing to deliver; decide it with `arbiter tx resolve %s --abort` or wait for its deadline", ErrUndecided, rec.GetTxId(), rec.GetTxId()))
	}
	resp := &arbiterpb.RetryPhase2Response{Outcome: out, Participants: rec.GetParticipants(), Finished: rec.GetFinished()}
	if rec.GetFinished() {
		return resp, nil
	}
	c.resetConnectBackoff(ctx, rec.GetParticipants())
	c.history.Event(rec.GetTxId(), "phase 2 restarted by "+operator(ctx))
	c.restartPhase2(ls, rec.GetTxId(), out, rec.GetParticipants())
	c.log.Info("phase 2 restarted by an operator", zap.String("tx-id", rec.GetTxId()), zap.String("operator", operator(ctx)))
	return resp, nil
}

// ForceDecide decides an undecided transaction on the leader. The FSM is
// write-once, so a race with a normal decision is safe: the response
// reports whichever decision was applied.
func (a *adminServer) ForceDecide(ctx context.Context, req *arbiterpb.ForceDecideRequest) (*arbiterpb.ForceDecideResponse, error) {
	c := a.c
	if err := validateForce(req); err != nil {
		return nil, toStatus(err)
	}
	if rec, ok := c.node.FSM().Get(req.GetTxId()); ok && outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return nil, toStatus(alreadyDecided(rec))
	}
	ls := c.leader()
	if ls == nil {
		resp, err := forward[arbiterpb.ForceDecideRequest, arbiterpb.ForceDecideResponse](ctx, c, arbiterpb.Admin_ForceDecide_FullMethodName, req)
		return resp, toStatus(err)
	}
	rec, err := c.forcible(req)
	if err != nil {
		return nil, toStatus(err)
	}
	reason := "forced by " + operator(ctx)
	c.history.Event(rec.GetTxId(), OutcomeName(req.GetOutcome())+" "+reason)
	out, parts, err := c.decide(ctx, rec.GetTxId(), req.GetOutcome(), rec.GetParticipants(), reason)
	if err != nil {
		c.history.Event(rec.GetTxId(), "forced decision failed: "+txhistory.Clip(err.Error()))
		return nil, toStatus(err)
	}
	applied, _ := c.node.FSM().Get(rec.GetTxId())
	c.history.Decided(rec.GetTxId(), out, applied.GetDecidedIndex())
	c.startPhase2(ls, rec.GetTxId(), out, parts)
	c.log.Warn("decision forced by an operator", zap.String("tx-id", rec.GetTxId()), zap.String("operator", operator(ctx)),
		zap.Stringer("outcome", out), zap.String("applied-reason", applied.GetReason()))
	return &arbiterpb.ForceDecideResponse{Outcome: out, Reason: applied.GetReason(), Forced: applied.GetReason() == reason}, nil
}

// forcible returns the leader's record if a decision may be forced on it.
// A forced COMMIT is refused while a commit run is in progress here: the
// run's branch participants are not in the record and would be left out.
func (c *Coordinator) forcible(req *arbiterpb.ForceDecideRequest) (*arbiterpb.TxRecord, error) {
	rec, ok := c.node.FSM().Get(req.GetTxId())
	switch {
	case !ok:
		return nil, unknownTx(req.GetTxId())
	case outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN:
		return nil, alreadyDecided(rec)
	case req.GetOutcome() == arbiterpb.Outcome_OUTCOME_COMMIT && c.running(rec.GetTxId()):
		return nil, fmt.Errorf("%w: a commit of %s is running on the leader; wait for its decision, or force ABORT", ErrCommitStarted, rec.GetTxId())
	}
	return rec, nil
}

func validateForce(req *arbiterpb.ForceDecideRequest) error {
	if err := validID("tx_id", req.GetTxId()); err != nil {
		return err
	}
	switch req.GetOutcome() {
	case arbiterpb.Outcome_OUTCOME_COMMIT, arbiterpb.Outcome_OUTCOME_ABORT:
		return nil
	}
	return fmt.Errorf("%w: outcome must be OUTCOME_COMMIT or OUTCOME_ABORT, not %v", ErrInvalid, req.GetOutcome())
}

func alreadyDecided(rec *arbiterpb.TxRecord) error {
	return fmt.Errorf("%w: transaction %s is already decided: %v (%s); a decision is final and cannot be forced",
		ErrDecided, rec.GetTxId(), outcomeOf(rec), rec.GetReason())
}

// operator names the caller of an Admin call for the log and the
// decision's reason: its certificate identity (the original caller's, when
// forwarded), or "operator (insecure)" on a plaintext server.
func operator(ctx context.Context) string {
	if id, ok := security.CallerFrom(ctx); ok {
		return "operator " + id.String()
	}
	return "operator (insecure)"
}
