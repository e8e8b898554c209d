package coordinator

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// One-phase commit: a one-shot transaction with a single branch is sent as
// Prepare{one_phase}; the participant runs the handler and commits in one
// durable write, and its vote COMMITTED is the outcome.

// executeOnePhase commits a one-shot transaction with a single participant
// there and only there: its local commit is the decision. The caller hears
// COMMIT at once; the run then records it (recordOnePhase) before it ends,
// so an Abort or Resolve of the ID, which joins a run in progress, never
// presumes an abort of work that committed. Without an answer before the deadline the outcome is
// unknown to the caller, who retries Commit with the ID and the same
// branch; the participant answers from what it recorded.
func (c *Coordinator) executeOnePhase(ls *leaderState, r *run, payload []byte) {
	ctx, cancel := context.WithDeadline(ls.ctx, time.Unix(0, r.deadline))
	defer cancel()
	start := time.Now()
	req := &arbiterpb.PrepareRequest{TxId: r.txID, Payload: payload, DeadlineUnixNanos: r.deadline, Term: ls.term, OnePhase: true}
	vote, why, err := c.prepareOne(ctx, ls, r.parts[0], req)
	c.cfg.Metrics.observe("prepare", start)
	switch vote {
	case arbiterpb.Vote_VOTE_COMMITTED:
		c.history.Event(r.txID, "committed in one phase at "+r.parts[0])
		r.answerEarly(arbiterpb.Outcome_OUTCOME_COMMIT)
		c.cfg.Metrics.decided(r.out)
		c.recordOnePhase(ls, r)
	case arbiterpb.Vote_VOTE_NO:
		r.out, r.why = arbiterpb.Outcome_OUTCOME_ABORT, why
		c.cfg.Metrics.decided(r.out)
	default:
		r.err = fmt.Errorf("%w: one-phase commit of %s at %s: %s: retry Commit with this tx_id and the same branch", ErrOutcomeUnknown, r.txID, r.parts[0], why)
		if err == nil {
			r.err = fmt.Errorf("%w: one-phase commit of %s: unexpected vote %v", ErrOutcomeUnknown, r.txID, vote)
		}
	}
}

// recordOnePhase writes the COMMIT a participant made in one phase (a DECIDE
// that creates the record, naming it) and finishes it at once: the
// participant already applied it, so there is no phase 2. Off the caller's
// path; if it fails (leadership lost), the participant's record is the only
// one, as before.
func (c *Coordinator) recordOnePhase(ls *leaderState, r *run) {
	res, err := c.apply(ls.ctx, arbiterpb.CommandType_COMMAND_TYPE_DECIDE, &arbiterpb.DecideCommand{
		TxId: r.txID, Outcome: arbiterpb.Outcome_OUTCOME_COMMIT, Participants: r.parts,
		Reason: "committed in one phase at " + r.parts[0], CreateDeadlineUnixNanos: r.deadline, CreateClientId: r.clientID,
	})
	if err != nil || outcomeOf(res.Tx) != arbiterpb.Outcome_OUTCOME_COMMIT {
		c.log.Warn("one-phase commit not recorded", zap.String("tx-id", r.txID), zap.Error(err), zap.Stringer("recorded", outcomeOf(res.Tx)))
		return
	}
	c.mu.Lock()
	c.queueFinish(r.txID)
	c.mu.Unlock()
}
