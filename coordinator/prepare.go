package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/coordinator/internal/txhistory"
	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// verdict is phase 1's result: the outcome to propose, why, and whether it
// is certain (every vote heard, or a no vote) rather than presumed (a
// participant did not answer before the deadline).
type verdict struct {
	out     arbiterpb.Outcome
	why     string
	certain bool
}

// prepareAll sends Prepare to every participant of the run; see prepareSome.
func (c *Coordinator) prepareAll(ls *leaderState, r *run, payloads map[string][]byte, readOnlyOK bool) verdict {
	return c.prepareSome(ls, r, r.parts, payloads, readOnlyOK)
}

// prepareSome sends Prepare to parts in parallel, bounded by the
// transaction's deadline, and records read-only votes in r. readOnlyOK lets
// participants vote read-only.
func (c *Coordinator) prepareSome(ls *leaderState, r *run, parts []string, payloads map[string][]byte, readOnlyOK bool) verdict {
	ctx, cancel := context.WithDeadline(trace.ContextWithSpanContext(ls.ctx, r.span), time.Unix(0, r.deadline))
	defer cancel()
	var mu sync.Mutex
	v := verdict{out: arbiterpb.Outcome_OUTCOME_COMMIT, certain: true}
	var wg sync.WaitGroup
	for _, p := range parts {
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

// prepareLate prepares the participants the record names that the run did
// not ask (they enlisted while the decision was being proposed) and returns
// their verdict; UNKNOWN when there are none to ask.
func (c *Coordinator) prepareLate(ls *leaderState, r *run, payloads map[string][]byte) verdict {
	rec, _ := c.node.FSM().Get(r.txID)
	late := without(rec.GetParticipants(), r.parts)
	if len(late) == 0 {
		return verdict{}
	}
	c.history.Event(r.txID, "enlisted while the commit was decided, asked to prepare now: "+strings.Join(late, ", "))
	c.mu.Lock() // startRun reads a joined run's parts (runParts)
	r.parts = unionSorted(r.parts, late)
	c.mu.Unlock()
	return c.prepareSome(ls, r, late, payloads, r.mode != arbiterpb.CommitMode_COMMIT_MODE_PARALLEL)
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
// Transport errors are retried until the deadline (Prepare is idempotent),
// unless this node's health view says the participant is down (health.go):
// then one more attempt is made, no sooner than a probe period after the
// breaker opened and bounded by ProbeTimeout (a blip shorter than the probe
// period must not abort a transaction that would commit), and if it fails
// too the answer is failFast's. A participant that says it is not serving
// (health NOT_SERVING) is not asked at all. A participant down for longer than a probe
// period is answered for within ProbeTimeout (milliseconds when its
// connection is refused).
func (c *Coordinator) prepareOne(ctx context.Context, ls *leaderState, pid string, req *arbiterpb.PrepareRequest) (arbiterpb.Vote, string, error) {
	var lastErr error
	lastChance := false
	for b := c.newBackoff(); ctx.Err() == nil; b.Wait(ctx) {
		if opened, notServing, down := c.health.downSince(pid); down {
			if lastChance || notServing {
				return c.failFast(req, pid)
			}
			lastChance = true
			// The last attempt comes a probe period after the breaker
			// opened, so a blip shorter than that is ridden out.
			if !backoff.Sleep(ctx, c.cfg.ProbeInterval-c.cfg.clock()().Sub(opened)) {
				break
			}
		}
		c.history.PrepareSent(req.GetTxId(), pid)
		resp, err := c.attemptPrepare(ctx, ls, pid, req, lastChance)
		if err == nil {
			c.noteSuccess(pid)
			return c.voted(req, pid, resp)
		}
		lastErr = err
		if !retryable(err) {
			break
		}
		if ctx.Err() == nil {
			c.noteFailure(pid, classify(err), "")
		}
	}
	c.cfg.Metrics.vote(false)
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	c.history.Event(req.GetTxId(), "no vote from "+pid+" before the deadline: "+txhistory.Clip(lastErr.Error()))
	return arbiterpb.Vote_VOTE_UNKNOWN, fmt.Sprintf("participant %s did not vote before the deadline: %v", pid, lastErr), lastErr
}

// attemptPrepare is one Prepare attempt; short bounds it by ProbeTimeout.
// Otherwise the attempt ends when the health view marks pid down (the
// probe saw what this call is waiting on), instead of at RPCTimeout.
func (c *Coordinator) attemptPrepare(ctx context.Context, ls *leaderState, pid string, req *arbiterpb.PrepareRequest, short bool) (*arbiterpb.PrepareResponse, error) {
	if short {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.ProbeTimeout)
		defer cancel()
	} else {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		down := c.health.wentDown(pid)
		go func() {
			select {
			case <-down:
				cancel(errDownMidCall)
			case <-ctx.Done():
			}
		}()
	}
	if short {
		c.resetConnectBackoff(ctx, []string{pid}) // a connection still backing off would fail at once
	}
	resp, err := c.callPrepare(ctx, ls, pid, req)
	switch {
	case err == nil:
	case short && ctx.Err() != nil:
		err = status.Errorf(codes.DeadlineExceeded, "no answer within the probe timeout %v", c.cfg.ProbeTimeout)
	case errors.Is(context.Cause(ctx), errDownMidCall):
		err = status.Error(codes.Unavailable, errDownMidCall.Error())
	}
	return resp, err
}

// errDownMidCall ends a Prepare attempt whose participant the health view
// marked down while it waited.
var errDownMidCall = errors.New("the participant went down while the Prepare waited")

// voted records and returns a participant's answer.
func (c *Coordinator) voted(req *arbiterpb.PrepareRequest, pid string, resp *arbiterpb.PrepareResponse) (arbiterpb.Vote, string, error) {
	vote := resp.GetVote()
	c.history.Vote(req.GetTxId(), pid, vote, resp.GetReason())
	c.cfg.Metrics.vote(vote != arbiterpb.Vote_VOTE_NO)
	if vote == arbiterpb.Vote_VOTE_NO {
		return vote, fmt.Sprintf("participant %s voted no: %s", pid, resp.GetReason()), nil
	}
	return vote, "", nil
}

// failFast answers for a participant this node's health view says is down.
// In the standard mode (read-only votes allowed) the answer is a no vote:
// presumed abort makes any abort safe there. In the parallel and one-phase
// modes it is VOTE_UNKNOWN, as at the deadline: a STAGING record may only
// be aborted on a real no vote (the participant might hold a durable yes
// from an earlier attempt), so the run goes to recovery, which asks it.
func (c *Coordinator) failFast(req *arbiterpb.PrepareRequest, pid string) (arbiterpb.Vote, string, error) {
	state, _ := c.health.down(pid)
	why := fmt.Sprintf("participant %s is down (%s): not asked, voted no for it", pid, state)
	c.cfg.Metrics.failedFast(pid)
	c.cfg.Metrics.vote(false)
	c.history.Event(req.GetTxId(), why)
	if req.GetReadOnlyOk() {
		return arbiterpb.Vote_VOTE_NO, why, nil
	}
	why = fmt.Sprintf("participant %s is down (%s): no vote", pid, state)
	return arbiterpb.Vote_VOTE_UNKNOWN, why, fmt.Errorf("%s", why)
}

// abortIfDown aborts a parallel or one-phase run before anything is staged
// or sent when one of its participants has been down, in this node's view,
// for longer than a probe period (a shorter outage may be a blip, and
// prepareOne rides it out). Once staged, a down participant sends the run
// to recovery instead (failFast), which waits for it. The ABORT is
// presumed, so the FSM refuses it if the record is STAGING after all (a
// retried Commit of a staged transaction): the client then retries and
// recovery settles the record.
func (c *Coordinator) abortIfDown(ls *leaderState, r *run) bool {
	for _, p := range r.parts {
		opened, _, down := c.health.downSince(p)
		if !down || c.cfg.clock()().Sub(opened) < c.cfg.ProbeInterval {
			continue
		}
		state, _ := c.health.down(p)
		why := fmt.Sprintf("participant %s is down (%s): aborted before staging, nothing sent", p, state)
		c.cfg.Metrics.failedFast(p)
		c.history.Event(r.txID, why)
		r.err = c.decideAndFinish(ls, r, arbiterpb.Outcome_OUTCOME_ABORT, why, true)
		return true
	}
	return false
}
