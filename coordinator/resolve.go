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
	pending := &arbiterpb.ResolveResponse{Outcome: arbiterpb.Outcome_OUTCOME_UNKNOWN, Term: ls.term}
	if rec = c.settled(rec); ok && outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return c.resolved(rec, req.GetParticipantId()), nil
	}
	switch {
	case !ok && c.running(req.GetTxId()):
		return pending, nil // a one-shot run: its record comes with its decision
	case !ok:
		return c.resolveUnrecorded(ctx, ls, req.GetTxId(), req.GetParticipantId())
	case c.mayStillCommit(rec):
		return pending, nil
	case rec.GetState() == arbiterpb.TxState_TX_STATE_STAGING:
		return c.resolveStaging(ctx, ls, rec, req.GetParticipantId())
	}
	out, parts, err := c.decide(ctx, rec.GetTxId(), arbiterpb.Outcome_OUTCOME_ABORT, rec.GetParticipants(), "a participant asked after the deadline")
	if err != nil {
		return nil, toStatus(err)
	}
	c.startPhase2(ls, rec.GetTxId(), out, parts)
	rec.State, rec.Participants = stateOf(out), parts
	return c.resolved(rec, req.GetParticipantId()), nil
}

// resolveStaging recovers a STAGING transaction past its deadline (asking
// every participant) and answers from the decision, or "pending" if the
// answers do not come within the call.
func (c *Coordinator) resolveStaging(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord, pid string) (*arbiterpb.ResolveResponse, error) {
	if _, _, err := c.startRecovery(ls, rec).wait(ctx); err != nil {
		return &arbiterpb.ResolveResponse{Outcome: arbiterpb.Outcome_OUTCOME_UNKNOWN, Term: ls.term}, nil
	}
	if now, ok := c.node.FSM().Get(rec.GetTxId()); ok && outcomeOf(now) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return c.resolved(now, pid), nil
	}
	return &arbiterpb.ResolveResponse{Outcome: arbiterpb.Outcome_OUTCOME_UNKNOWN, Term: ls.term}, nil
}

// resolveUnrecorded aborts a transaction that has no record and no run
// (presumed abort), writing the ABORT record first: a one-shot Commit
// retried later with the same ID then finds the decision instead of
// committing what a participant was told to abort.
func (c *Coordinator) resolveUnrecorded(ctx context.Context, ls *leaderState, txID, pid string) (*arbiterpb.ResolveResponse, error) {
	out, parts, err := c.decideCmd(ctx, &arbiterpb.DecideCommand{
		TxId: txID, Outcome: arbiterpb.Outcome_OUTCOME_ABORT, Participants: []string{pid}, Presumed: true,
		Reason: "no record and no run: presumed abort", CreateDeadlineUnixNanos: time.Now().UnixNano(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	if out == arbiterpb.Outcome_OUTCOME_ABORT {
		// The asking participant applies this answer itself and asks again
		// if it crashes first, so no phase 2: the record can be retired.
		c.queueFinish(txID)
	} else {
		c.startPhase2(ls, txID, out, parts)
	}
	return c.resolved(&arbiterpb.TxRecord{TxId: txID, State: stateOf(out), Participants: parts}, pid), nil
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
