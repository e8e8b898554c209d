package coordinator

import (
	"context"
	"slices"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Resolve answers a participant holding prepared work. A decision that
// exists is answered by any node (COMMIT only to a participant the decision
// names). Otherwise the leader, after confirming its leadership, answers
// "pending" while the transaction may still commit, and else decides ABORT
// (write-once) and answers from what was applied. No record at all means
// abort: presumed abort.
func (c *Coordinator) Resolve(ctx context.Context, req *arbiterpb.ResolveRequest) (*arbiterpb.ResolveResponse, error) {
	if err := validID("tx_id", req.GetTxId()); err != nil {
		return nil, toStatus(err)
	}
	if err := validID("participant_id", req.GetParticipantId()); err != nil {
		return nil, toStatus(err)
	}
	if rec, ok := c.node.FSM().Get(req.GetTxId()); ok && outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return c.resolved(rec, req.GetParticipantId()), nil
	}
	ls := c.leader()
	if ls == nil {
		resp, err := forward[arbiterpb.ResolveRequest, arbiterpb.ResolveResponse](ctx, c, arbiterpb.Coordinator_Resolve_FullMethodName, req)
		return resp, toStatus(err)
	}
	if err := c.node.VerifyLeader(ctx); err != nil {
		return nil, toStatus(err)
	}
	rec, ok := c.node.FSM().Get(req.GetTxId())
	if !ok {
		return &arbiterpb.ResolveResponse{Outcome: arbiterpb.Outcome_OUTCOME_ABORT, Term: ls.term}, nil
	}
	if outcomeOf(rec) == arbiterpb.Outcome_OUTCOME_UNKNOWN && c.mayStillCommit(rec) {
		return &arbiterpb.ResolveResponse{Outcome: arbiterpb.Outcome_OUTCOME_UNKNOWN, Term: ls.term}, nil
	}
	out, parts, err := c.decide(ctx, rec.GetTxId(), arbiterpb.Outcome_OUTCOME_ABORT, rec.GetParticipants(), "a participant asked after the deadline")
	if err != nil {
		return nil, toStatus(err)
	}
	c.startPhase2(ls, rec.GetTxId(), out, parts)
	rec.State, rec.Participants = stateOf(out), parts
	return c.resolved(rec, req.GetParticipantId()), nil
}

func (c *Coordinator) mayStillCommit(rec *arbiterpb.TxRecord) bool {
	return c.running(rec.GetTxId()) || time.Now().UnixNano() < rec.GetDeadlineUnixNanos()
}

func (c *Coordinator) resolved(rec *arbiterpb.TxRecord, pid string) *arbiterpb.ResolveResponse {
	out := outcomeOf(rec)
	if out == arbiterpb.Outcome_OUTCOME_COMMIT && !slices.Contains(rec.GetParticipants(), pid) {
		out = arbiterpb.Outcome_OUTCOME_ABORT // not part of what committed
	}
	return &arbiterpb.ResolveResponse{Outcome: out, Term: c.node.Term()}
}

func stateOf(out arbiterpb.Outcome) arbiterpb.TxState {
	if out == arbiterpb.Outcome_OUTCOME_COMMIT {
		return arbiterpb.TxState_TX_STATE_COMMITTED
	}
	return arbiterpb.TxState_TX_STATE_ABORTED
}
