package coordinator

import (
	"context"
	"errors"
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

// resolveUnrecorded answers a participant asking about an ID with no record
// and no run: presumed abort (abortUnrecorded). An ID older than the
// uniqueness window, or one without a creation time, is answered ABORT
// without a write: no run can decide it any more. One from the future
// (clock skew) is answered "pending" until it is not.
func (c *Coordinator) resolveUnrecorded(ctx context.Context, ls *leaderState, txID, pid string) (*arbiterpb.ResolveResponse, error) {
	out, err := c.abortUnrecorded(ctx, ls, txID, []string{pid}, "a participant asked; no record and no run: presumed abort")
	switch {
	case errors.Is(err, ErrTooOld), errors.Is(err, ErrUnknownTx):
		return &arbiterpb.ResolveResponse{Outcome: arbiterpb.Outcome_OUTCOME_ABORT, Term: ls.term}, nil
	case errors.Is(err, ErrInvalid):
		return &arbiterpb.ResolveResponse{Outcome: arbiterpb.Outcome_OUTCOME_UNKNOWN, Term: ls.term}, nil
	case err != nil:
		return nil, toStatus(err)
	}
	if rec, ok := c.node.FSM().Get(txID); ok {
		return c.resolved(c.settled(rec), pid), nil
	}
	return &arbiterpb.ResolveResponse{Outcome: out, Term: ls.term}, nil
}

// abortUnrecorded decides ABORT for an ID that has no record, writing the
// record (a presumed-abort DECIDE that creates it) so that a one-shot Commit
// retried later finds the decision instead of committing what was aborted.
// It goes through a run: a one-shot run of the same ID in progress is
// joined (its outcome is returned), and none can launch while this one is
// deciding. An ID without a creation time is ErrUnknownTx with no write:
// no one-shot can run it (oneShotID) and Begin makes dated IDs, so nothing
// ever happened under it. One outside the window is refused (idAge).
func (c *Coordinator) abortUnrecorded(ctx context.Context, ls *leaderState, txID string, parts []string, reason string) (arbiterpb.Outcome, error) {
	dated, err := c.idAge(txID)
	switch {
	case err != nil:
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, err
	case !dated:
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, unknownTx(txID)
	}
	rec := &arbiterpb.TxRecord{TxId: txID, DeadlineUnixNanos: time.Now().UnixNano()}
	r := newRun(rec, parts, arbiterpb.CommitMode_COMMIT_MODE_STANDARD)
	r.oneShot, r.presumedAbort = true, true
	got, err := c.launch(ls, r, func() { c.presumeAbort(ls, r, reason) })
	if err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, err
	}
	out, _, err := got.wait(ctx)
	return out, err
}

// presumeAbort is abortUnrecorded's run. The record it writes is finished
// at once: the asking participant (if any) applies the answer itself and
// asks again if it crashes first, so there is no phase 2 for an ABORT.
func (c *Coordinator) presumeAbort(ls *leaderState, r *run, reason string) {
	out, parts, err := c.decideCmd(ls.ctx, &arbiterpb.DecideCommand{
		TxId: r.txID, Outcome: arbiterpb.Outcome_OUTCOME_ABORT, Participants: r.parts, Presumed: true,
		Reason: reason, CreateDeadlineUnixNanos: r.deadline,
	})
	if err != nil {
		r.err = err
		return
	}
	r.out, r.why = out, reason
	if out != arbiterpb.Outcome_OUTCOME_ABORT {
		c.startPhase2(ls, r.txID, out, parts)
		return
	}
	c.mu.Lock()
	c.queueFinish(r.txID)
	c.mu.Unlock()
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
