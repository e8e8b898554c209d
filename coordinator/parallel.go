package coordinator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Parallel commit. The participant list is replicated (STAGE) while the
// participants prepare. A transaction whose STAGE is applied and whose every
// participant has a durable yes vote is committed, whether or not a DECIDE
// exists yet: the caller hears COMMIT at that moment, one Raft round sooner
// than in the standard mode, and the DECIDE follows. Any later path to a
// decision preserves this: a presumed ABORT (deadline, client, operator, a
// participant asking) is refused by the FSM for a STAGING record, and
// recovery asks every participant (Refuse) and aborts only when one of them
// has durably refused, which a participant with a yes vote never does.

// executeParallel runs the prepares and the STAGE side by side.
func (c *Coordinator) executeParallel(ls *leaderState, r *run, payloads map[string][]byte) {
	staged := make(chan raftlog.Result, 1)
	var stageErr error
	start := time.Now()
	go func() {
		res, err := c.node.Apply(ls.ctx, arbiterpb.CommandType_COMMAND_TYPE_STAGE, &arbiterpb.StageCommand{
			TxId: r.txID, Participants: r.parts, DeadlineUnixNanos: r.deadline, ClientId: r.clientID,
		})
		stageErr = err
		staged <- res
	}()
	v := c.prepareAll(ls, r, payloads, false)
	c.cfg.Metrics.observe("prepare", start)
	res := <-staged
	switch {
	case stageErr != nil:
		r.err = stageErr // the STAGE may or may not apply: recovery settles it
		return
	case res.AlreadyDecided:
		c.tracker.event(r.txID, "already decided when staged")
		r.out, r.why = outcomeOf(res.Tx), "decided earlier by another path"
		c.startPhase2(ls, r.txID, r.out, res.Tx.GetParticipants())
		return
	}
	c.tracker.event(r.txID, "staged (parallel commit)")
	want := c.breakDecision(r, v.out)
	switch {
	case want == arbiterpb.Outcome_OUTCOME_COMMIT:
		c.commitImplicitly(ls, r)
	case !v.certain:
		c.recoverStaging(ls, r) // a silent participant: ask everyone
	default:
		c.decideAndFinish(ls, r, want, r.parts, v.why, false)
	}
}

// commitImplicitly answers COMMIT and starts phase 2 with no DECIDE entry:
// STAGING is applied and every yes vote is durable, so no path can abort
// the transaction any more (see above). The FINISH that follows phase 2
// records it COMMITTED.
func (c *Coordinator) commitImplicitly(ls *leaderState, r *run) {
	c.mu.Lock()
	ls.implicit[r.txID] = true
	c.mu.Unlock()
	r.answerEarly(arbiterpb.Outcome_OUTCOME_COMMIT)
	c.cfg.Metrics.decided(arbiterpb.Outcome_OUTCOME_COMMIT)
	c.tracker.event(r.txID, "committed implicitly: staged and every vote yes (answered; no DECIDE entry)")
	c.cfg.failpoint("before-decide", r.txID)
	c.startPhase2(ls, r.txID, arbiterpb.Outcome_OUTCOME_COMMIT, r.parts)
}

// awaitStaging waits until a STAGING transaction is settled (its run, or a
// recovery started now) and returns the record as settled.
func (c *Coordinator) awaitStaging(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord) (*arbiterpb.TxRecord, error) {
	if ls == nil {
		return nil, ErrNoLeader
	}
	c.mu.Lock()
	r := c.runs[rec.GetTxId()]
	c.mu.Unlock()
	if r == nil {
		r = c.startRecovery(ls, rec)
	}
	if _, _, err := r.wait(ctx); err != nil {
		return nil, err
	}
	now, ok := c.node.FSM().Get(rec.GetTxId())
	if !ok {
		return nil, unknownTx(rec.GetTxId())
	}
	return c.settled(now), nil
}

// settled returns rec as this leader knows it: a STAGING record that
// committed implicitly here reads as COMMITTED.
func (c *Coordinator) settled(rec *arbiterpb.TxRecord) *arbiterpb.TxRecord {
	if rec.GetState() != arbiterpb.TxState_TX_STATE_STAGING {
		return rec
	}
	c.mu.Lock()
	implicit := c.lead != nil && c.lead.implicit[rec.GetTxId()]
	c.mu.Unlock()
	if !implicit {
		return rec
	}
	out := proto.Clone(rec).(*arbiterpb.TxRecord)
	out.State = arbiterpb.TxState_TX_STATE_COMMITTED
	return out
}

// implicitCommits splits a FINISH batch into the implicitly committed
// transactions and the rest.
func (c *Coordinator) implicitCommits(batch []string) (explicit, implicit []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range batch {
		if c.lead != nil && c.lead.implicit[id] {
			implicit = append(implicit, id)
		} else {
			explicit = append(explicit, id)
		}
	}
	return explicit, implicit
}

// forgetImplicit drops IDs whose FINISH applied.
func (c *Coordinator) forgetImplicit(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lead != nil {
		for _, id := range ids {
			delete(c.lead.implicit, id)
		}
	}
}

// recoverStaging settles a STAGING transaction: every participant is asked
// (Refuse) until it answers; COMMIT if all have prepared, else ABORT. It
// runs until the answers come or this node stops leading.
func (c *Coordinator) recoverStaging(ls *leaderState, r *run) {
	c.tracker.event(r.txID, "recovering staging transaction: asking every participant")
	states := c.refuseAll(ls.ctx, ls.term, r.txID, r.parts)
	if ls.ctx.Err() != nil {
		r.err = fmt.Errorf("%w: lost leadership while recovering %s", ErrNoLeader, r.txID)
		return
	}
	want, why := arbiterpb.Outcome_OUTCOME_COMMIT, ""
	for _, p := range r.parts {
		if states[p] != arbiterpb.LocalState_LOCAL_STATE_PREPARED {
			want, why = arbiterpb.Outcome_OUTCOME_ABORT, fmt.Sprintf("participant %s had not prepared when recovery asked", p)
			break
		}
	}
	c.log.Info("recovered staging transaction", zap.String("tx-id", r.txID), zap.Stringer("outcome", want))
	c.decideAndFinish(ls, r, want, r.parts, why, false)
}

// refuseAll asks every participant in parallel, retrying each until it
// answers or ctx ends.
func (c *Coordinator) refuseAll(ctx context.Context, term uint64, txID string, parts []string) map[string]arbiterpb.LocalState {
	var mu sync.Mutex
	states := make(map[string]arbiterpb.LocalState, len(parts))
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() {
			st := c.refuseOne(ctx, term, txID, p)
			mu.Lock()
			states[p] = st
			mu.Unlock()
		})
	}
	wg.Wait()
	return states
}

func (c *Coordinator) refuseOne(ctx context.Context, term uint64, txID, pid string) arbiterpb.LocalState {
	req := &arbiterpb.RefuseRequest{TxId: txID, Term: term}
	for b := c.newBackoff(); ctx.Err() == nil; b.wait(ctx) {
		cli, err := c.participant(pid)
		if err != nil {
			c.log.Warn("recovery cannot reach participant", zap.String("tx-id", txID), zap.String("participant", pid), zap.Error(err))
			continue
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
		resp, err := cli.Refuse(actx, req)
		cancel()
		if err == nil && resp.GetState() != arbiterpb.LocalState_LOCAL_STATE_UNKNOWN {
			return resp.GetState()
		}
		c.cfg.Metrics.retried()
	}
	return arbiterpb.LocalState_LOCAL_STATE_UNKNOWN
}

// startRecovery runs recoverStaging for rec unless a run for it is in
// progress, and returns the run to wait on.
func (c *Coordinator) startRecovery(ls *leaderState, rec *arbiterpb.TxRecord) *run {
	r := newRun(rec, rec.GetParticipants(), arbiterpb.CommitMode_COMMIT_MODE_PARALLEL)
	return c.launch(ls, r, func() { c.recoverStaging(ls, r) })
}

// executeOnePhase commits a one-shot transaction with a single participant
// there and only there: its local commit is the decision, and nothing is
// written to Raft. Without an answer before the deadline the outcome is
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
		c.tracker.event(r.txID, "committed in one phase at "+r.parts[0]+" (no Raft write)")
		r.out = arbiterpb.Outcome_OUTCOME_COMMIT
		c.cfg.Metrics.decided(r.out)
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
