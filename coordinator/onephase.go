package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// One-phase commit: a one-shot transaction with a single branch is staged
// (STAGE names its one participant), then sent as Prepare{one_phase}; the
// participant runs the handler and commits in one durable write, and its
// vote COMMITTED is the outcome. The STAGE comes first so that the log
// holds the transaction before any participant can commit it: an Abort or
// Resolve of the ID on a later leader finds the STAGING record, whose
// recovery asks the participant (Refuse) and commits if it committed,
// instead of presuming an abort of work that committed.

// executeOnePhase commits a one-shot transaction with a single participant
// there and only there. COMMITTED: the caller hears COMMIT, and the record
// is finished as an implicit commit (no DECIDE, no phase 2: the
// participant has applied it). NO: an ordinary ABORT. No answer: the
// STAGING record is recovered (the participant is asked until it answers).
func (c *Coordinator) executeOnePhase(ls *leaderState, r *run, payload []byte) {
	if c.abortIfDown(ls, r) {
		return
	}
	st := c.stage(ls, r)
	switch {
	case st.err != nil:
		r.err = st.err // the STAGE may or may not apply: recovery settles it
		return
	case st.res.AlreadyDecided:
		r.out, r.why = outcomeOf(st.res.Tx), "decided earlier by another path"
		c.startPhase2(ls, r.txID, r.out, st.res.Tx.GetParticipants())
		return
	case errors.Is(st.res.Err, raftlog.ErrUnvoted), errors.Is(st.res.Err, raftlog.ErrParticipantsDiffer):
		r.err = fmt.Errorf("%w: %s was recorded with other participants while this one-shot started: retry with the same ID", ErrOutcomeUnknown, r.txID)
		return
	case st.res.Err != nil:
		r.err = fmt.Errorf("stage %s: %w", r.txID, st.res.Err)
		return
	}
	ctx, cancel := context.WithDeadline(ls.ctx, time.Unix(0, r.deadline))
	defer cancel()
	start := time.Now()
	req := &arbiterpb.PrepareRequest{TxId: r.txID, Payload: payload, DeadlineUnixNanos: r.deadline, Term: ls.term, OnePhase: true}
	vote, why, err := c.prepareOne(ctx, ls, r.parts[0], req)
	c.cfg.Metrics.observe("prepare", start)
	switch vote {
	case arbiterpb.Vote_VOTE_COMMITTED:
		c.history.Event(r.txID, "committed in one phase at "+r.parts[0]+" (staged first; no DECIDE entry)")
		c.mu.Lock()
		ls.implicit[r.txID] = true
		c.mu.Unlock()
		r.answerEarly(arbiterpb.Outcome_OUTCOME_COMMIT)
		c.cfg.Metrics.decided(arbiterpb.Outcome_OUTCOME_COMMIT)
		c.mu.Lock()
		c.queueFinish(r.txID)
		c.mu.Unlock()
	case arbiterpb.Vote_VOTE_NO:
		r.err = c.decideAndFinish(ls, r, arbiterpb.Outcome_OUTCOME_ABORT, why, false)
	default:
		if err != nil {
			why = err.Error()
		}
		c.history.Event(r.txID, "one-phase commit at "+r.parts[0]+" unanswered ("+why+"): recovering")
		c.recoverStaging(ls, r)
	}
}
