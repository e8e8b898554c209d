package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
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

// executeParallel runs the prepares and the STAGE side by side. A STAGE
// the FSM refuses because a participant enlisted after the run read the
// record (raftlog.ErrUnvoted) is proposed again, after the newcomers have
// prepared, with the whole set: a STAGING record names exactly the
// participants whose votes the run holds.
func (c *Coordinator) executeParallel(ls *leaderState, r *run, payloads map[string][]byte) {
	if c.abortIfDown(ls, r) {
		return
	}
	staged := make(chan stageResult, 1)
	start := time.Now()
	go func() { staged <- c.stage(ls, r) }()
	v := c.prepareAll(ls, r, payloads, false)
	c.cfg.Metrics.observe("prepare", start)
	st := <-staged
	for st.err == nil && errors.Is(st.res.Err, raftlog.ErrUnvoted) && v.out == arbiterpb.Outcome_OUTCOME_COMMIT {
		late := c.prepareLate(ls, r, payloads)
		if late.out == arbiterpb.Outcome_OUTCOME_UNKNOWN {
			break
		}
		if v = late; v.out == arbiterpb.Outcome_OUTCOME_COMMIT {
			st = c.stage(ls, r)
		}
	}
	switch {
	case st.err != nil:
		r.err = st.err // the STAGE may or may not apply: recovery settles it
		return
	case st.res.AlreadyDecided:
		c.history.Event(r.txID, "already decided when staged")
		r.out, r.why = outcomeOf(st.res.Tx), "decided earlier by another path"
		c.startPhase2(ls, r.txID, r.out, st.res.Tx.GetParticipants())
		return
	case errors.Is(st.res.Err, raftlog.ErrUnvoted) && v.out != arbiterpb.Outcome_OUTCOME_COMMIT:
		r.err = c.decideAndFinish(ls, r, v.out, v.why, !v.certain) // never staged: an ordinary abort
		return
	case st.res.Err != nil:
		r.err = fmt.Errorf("stage %s: %w", r.txID, st.res.Err)
		return
	}
	c.history.Event(r.txID, "staged (parallel commit)")
	want := c.breakDecision(r, v.out)
	switch {
	case want == arbiterpb.Outcome_OUTCOME_COMMIT:
		c.commitImplicitly(ls, r)
	case !v.certain:
		c.recoverStaging(ls, r) // a silent participant: ask everyone
	default:
		r.err = c.decideAndFinish(ls, r, want, v.why, false)
	}
}

type stageResult struct {
	res raftlog.Result
	err error
}

// stage proposes STAGE with the run's participants.
func (c *Coordinator) stage(ls *leaderState, r *run) stageResult {
	res, err := c.node.Apply(ls.ctx, arbiterpb.CommandType_COMMAND_TYPE_STAGE, &arbiterpb.StageCommand{
		TxId: r.txID, Participants: r.parts, DeadlineUnixNanos: r.deadline, ClientId: r.clientID,
	})
	return stageResult{res, err}
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
	c.history.Event(r.txID, "committed implicitly: staged and every vote yes (answered; no DECIDE entry)")
	c.cfg.failpoint(failpoint.BeforeDecide, r.txID)
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
	c.history.Event(r.txID, "recovering staging transaction: asking every participant")
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
	r.err = c.decideAndFinish(ls, r, want, why, false)
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
	for b := c.newBackoff(); ctx.Err() == nil; b.Wait(ctx) {
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
	got, _ := c.launch(ls, r, func() { c.recoverStaging(ls, r) }) // not one-shot: never an error
	return got
}
