package coordinator

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// run is one commit attempt on this leader: phase 1 and the decision (or
// the recovery of a STAGING transaction). A retried Commit for the same ID
// waits on the run already in progress.
type run struct {
	txID string
	// parts are the participants asked to prepare; readOnly are those
	// that voted read-only (no phase 2 for them).
	parts    []string
	readOnly map[string]bool
	mode     arbiterpb.CommitMode
	// oneShot: the Commit had no Begin, so there may be no record yet; the
	// decision (or STAGE) creates it with deadline and clientID.
	oneShot  bool
	deadline int64
	clientID string
	done     chan struct{}
	early    chan struct{} // closed when the answer is known before the run ends
	// span is the Commit call's trace context: the run outlives the call,
	// but its Prepare calls join the caller's trace (tracing is optional).
	span trace.SpanContext
	out  arbiterpb.Outcome
	why  string
	err  error
}

// newRun is a run of rec over parts in mode, not started.
func newRun(rec *arbiterpb.TxRecord, parts []string, mode arbiterpb.CommitMode) *run {
	return &run{txID: rec.GetTxId(), parts: parts, mode: mode, deadline: rec.GetDeadlineUnixNanos(),
		clientID: rec.GetClientId(), done: make(chan struct{}), early: make(chan struct{})}
}

// answerEarly gives the caller its answer before the run ends (parallel
// commit: COMMIT once STAGING and every yes vote are durable).
func (r *run) answerEarly(out arbiterpb.Outcome) {
	r.out = out
	close(r.early)
}

// commitSpec is what a Commit asks for beyond the record.
type commitSpec struct {
	branches []*arbiterpb.Branch
	mode     arbiterpb.CommitMode
	oneShot  bool
}

// commit returns the transaction's outcome, running phase 1 and the
// decision if no decision exists yet. The run is detached from the caller's
// context: a client that disconnects never stops a decision.
func (c *Coordinator) commit(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord, spec commitSpec) (arbiterpb.Outcome, string, error) {
	if out := outcomeOf(rec); out != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return out, rec.GetReason(), nil
	}
	c.tracker.event(rec.GetTxId(), "commit requested ("+spec.mode.String()+")")
	r, err := c.startRun(ctx, ls, rec, spec)
	if err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, "", err
	}
	out, why, err := r.wait(ctx)
	if err != nil {
		c.tracker.event(rec.GetTxId(), "commit call ended without an answer (the caller retries by ID): "+clip(err.Error()))
	} else {
		c.tracker.event(rec.GetTxId(), "commit answered: "+out.String())
	}
	return out, why, err
}

func (r *run) wait(ctx context.Context) (arbiterpb.Outcome, string, error) {
	select {
	case <-r.done:
		return r.out, r.why, r.err
	case <-r.early:
		return r.out, "", nil
	case <-ctx.Done():
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, "", ctx.Err()
	}
}

func (c *Coordinator) startRun(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord, spec commitSpec) (*run, error) {
	if err := c.checkRegistered(spec.branches); err != nil {
		return nil, err
	}
	payloads := make(map[string][]byte, len(spec.branches))
	for _, b := range spec.branches {
		payloads[b.GetParticipantId()] = b.GetPayload()
	}
	parts := unionSorted(rec.GetParticipants(), keys(payloads))
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: transaction %s has no participants: pass branches or enlist participants before commit", ErrInvalid, rec.GetTxId())
	}
	if len(parts) > c.cfg.MaxBranches {
		return nil, fmt.Errorf("%w: %d participants exceeds the limit of %d", ErrInvalid, len(parts), c.cfg.MaxBranches)
	}
	r := newRun(rec, parts, spec.mode)
	r.oneShot, r.span = spec.oneShot, trace.SpanContextFromContext(ctx)
	if rec.GetState() == arbiterpb.TxState_TX_STATE_STAGING {
		r.mode = arbiterpb.CommitMode_COMMIT_MODE_PARALLEL // a retry of a parallel commit stays one
	}
	exec := func() { c.execute(ls, r, payloads) }
	switch {
	case r.oneShot && len(parts) == 1:
		exec = func() { c.executeOnePhase(ls, r, payloads[parts[0]]) }
	case r.mode == arbiterpb.CommitMode_COMMIT_MODE_PARALLEL:
		exec = func() { c.executeParallel(ls, r, payloads) }
	}
	return c.launch(ls, r, exec), nil
}

// launch registers r and runs exec in the background, unless a run for the
// same ID is in progress: that one is returned instead.
func (c *Coordinator) launch(ls *leaderState, r *run, exec func()) *run {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.runs[r.txID]; ok {
		return old
	}
	c.runs[r.txID] = r
	c.goBackground(func() {
		defer c.endRun(r)
		exec()
	})
	return r
}

func (c *Coordinator) endRun(r *run) {
	c.mu.Lock()
	delete(c.runs, r.txID)
	c.mu.Unlock()
	close(r.done)
}

// execute is phase 1 plus the decision, then hands over to phase 2.
func (c *Coordinator) execute(ls *leaderState, r *run, payloads map[string][]byte) {
	start := time.Now()
	v := c.prepareAll(ls, r, payloads, true)
	c.cfg.Metrics.observe("prepare", start)
	c.cfg.failpoint("before-decide", r.txID)
	want := c.breakDecision(r, v.out)
	writers := r.writers()
	if want == arbiterpb.Outcome_OUTCOME_COMMIT && len(writers) == 0 && r.oneShot {
		r.out = want // read-only everywhere and no record to settle: no Raft write
		return
	}
	c.decideAndFinish(ls, r, want, writers, v.why, !v.certain)
}

// decideAndFinish proposes the decision, records it in r and starts phase 2
// for parts (plus whatever the applied record names).
func (c *Coordinator) decideAndFinish(ls *leaderState, r *run, want arbiterpb.Outcome, parts []string, why string, presumed bool) {
	decideStart := time.Now()
	cmd := &arbiterpb.DecideCommand{TxId: r.txID, Outcome: want, Participants: parts, Reason: why,
		Presumed: presumed && want == arbiterpb.Outcome_OUTCOME_ABORT}
	if r.oneShot {
		cmd.CreateDeadlineUnixNanos, cmd.CreateClientId = r.deadline, r.clientID
	}
	out, applied, err := c.decideCmd(ls.ctx, cmd)
	c.cfg.Metrics.observe("decide", decideStart)
	if err != nil {
		r.err = err
		return
	}
	if r.out == arbiterpb.Outcome_OUTCOME_UNKNOWN {
		r.out, r.why = out, why
		if out != want {
			r.why = "decided earlier by another path"
		}
	}
	c.log.Debug("decided", zap.String("tx-id", r.txID), zap.Stringer("outcome", out), zap.String("reason", r.why))
	c.cfg.failpoint("after-decide", r.txID)
	out = c.breakPhase2(ls, r.txID, out, parts)
	c.startPhase2(ls, r.txID, out, unionSorted(applied, parts))
}

// writers are the participants that did not vote read-only.
func (r *run) writers() []string {
	out := make([]string, 0, len(r.parts))
	for _, p := range r.parts {
		if !r.readOnly[p] {
			out = append(out, p)
		}
	}
	return out
}

// verdict is phase 1's result: the outcome to propose, why, and whether it
// is certain (every vote heard, or a no vote) rather than presumed (a
// participant did not answer before the deadline).
type verdict struct {
	out     arbiterpb.Outcome
	why     string
	certain bool
}

// prepareAll sends Prepare to every participant in parallel, bounded by the
// transaction's deadline. readOnlyOK lets participants vote read-only.
func (c *Coordinator) prepareAll(ls *leaderState, r *run, payloads map[string][]byte, readOnlyOK bool) verdict {
	ctx, cancel := context.WithDeadline(trace.ContextWithSpanContext(ls.ctx, r.span), time.Unix(0, r.deadline))
	defer cancel()
	var mu sync.Mutex
	v := verdict{out: arbiterpb.Outcome_OUTCOME_COMMIT, certain: true}
	r.readOnly = make(map[string]bool)
	var wg sync.WaitGroup
	for _, p := range r.parts {
		wg.Go(func() {
			req := &arbiterpb.PrepareRequest{TxId: r.txID, Payload: payloads[p], DeadlineUnixNanos: r.deadline,
				Term: ls.term, ReadOnlyOk: readOnlyOK}
			vote, why, err := c.prepareOne(ctx, ls, p, req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case vote == arbiterpb.Vote_VOTE_READ_ONLY:
				r.readOnly[p] = true
			case vote == arbiterpb.Vote_VOTE_YES:
			case v.out == arbiterpb.Outcome_OUTCOME_COMMIT || (vote == arbiterpb.Vote_VOTE_NO && !v.certain):
				v = verdict{out: arbiterpb.Outcome_OUTCOME_ABORT, why: why, certain: err == nil}
				cancel()
			}
		})
	}
	wg.Wait()
	return v
}

// callPrepare sends one Prepare: through pid's batching queue, or directly
// when the transaction is traced (a batch call cannot carry one trace per
// transaction). ErrUnknownParticipant is not retried.
func (c *Coordinator) callPrepare(ctx context.Context, ls *leaderState, pid string, req *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return c.sendPrepare(ctx, ls, pid, req)
	}
	cli, err := c.participant(pid)
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
	defer cancel()
	return cli.Prepare(actx, req)
}

// prepareOne returns the participant's vote, or VOTE_UNKNOWN with the last
// error when none came before the deadline; why explains anything but yes.
// Transport errors are retried until the deadline: Prepare is idempotent.
func (c *Coordinator) prepareOne(ctx context.Context, ls *leaderState, pid string, req *arbiterpb.PrepareRequest) (arbiterpb.Vote, string, error) {
	var lastErr error
	for b := c.newBackoff(); ctx.Err() == nil; b.wait(ctx) {
		c.tracker.prepareSent(req.GetTxId(), pid)
		resp, err := c.callPrepare(ctx, ls, pid, req)
		if err == nil {
			vote := resp.GetVote()
			c.tracker.vote(req.GetTxId(), pid, vote, resp.GetReason())
			c.cfg.Metrics.vote(vote != arbiterpb.Vote_VOTE_NO)
			if vote == arbiterpb.Vote_VOTE_NO {
				return vote, fmt.Sprintf("participant %s voted no: %s", pid, resp.GetReason()), nil
			}
			return vote, "", nil
		}
		lastErr = err
		if !retryable(err) {
			break
		}
	}
	c.cfg.Metrics.vote(false)
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	c.tracker.event(req.GetTxId(), "no vote from "+pid+" before the deadline: "+clip(lastErr.Error()))
	return arbiterpb.Vote_VOTE_UNKNOWN, fmt.Sprintf("participant %s did not vote before the deadline: %v", pid, lastErr), lastErr
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func unionSorted(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// breakDecision applies a deliberately broken mode (fault-suite self-test).
func (c *Coordinator) breakDecision(r *run, want arbiterpb.Outcome) arbiterpb.Outcome {
	switch c.cfg.Broken {
	case BrokenCommitDespiteNo:
		return arbiterpb.Outcome_OUTCOME_COMMIT
	case BrokenAckBeforeDecide:
		if want == arbiterpb.Outcome_OUTCOME_COMMIT {
			r.answerEarly(want)
			time.Sleep(time.Second)
		}
	}
	return want
}

// breakPhase2 applies BrokenSecondDecision (fault-suite self-test): a
// second, opposite DECIDE for a committed tx, then phase 2 with it.
func (c *Coordinator) breakPhase2(ls *leaderState, txID string, out arbiterpb.Outcome, parts []string) arbiterpb.Outcome {
	if c.cfg.Broken != BrokenSecondDecision || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		return out
	}
	_, _, _ = c.decide(ls.ctx, txID, arbiterpb.Outcome_OUTCOME_ABORT, parts, "broken: second decision")
	return arbiterpb.Outcome_OUTCOME_ABORT
}
