package coordinator

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/arbiter-tx/arbiter/coordinator/internal/txhistory"
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
// Transport errors are retried until the deadline: Prepare is idempotent.
func (c *Coordinator) prepareOne(ctx context.Context, ls *leaderState, pid string, req *arbiterpb.PrepareRequest) (arbiterpb.Vote, string, error) {
	var lastErr error
	for b := c.newBackoff(); ctx.Err() == nil; b.Wait(ctx) {
		c.history.PrepareSent(req.GetTxId(), pid)
		resp, err := c.callPrepare(ctx, ls, pid, req)
		if err == nil {
			vote := resp.GetVote()
			c.history.Vote(req.GetTxId(), pid, vote, resp.GetReason())
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
	c.history.Event(req.GetTxId(), "no vote from "+pid+" before the deadline: "+txhistory.Clip(lastErr.Error()))
	return arbiterpb.Vote_VOTE_UNKNOWN, fmt.Sprintf("participant %s did not vote before the deadline: %v", pid, lastErr), lastErr
}
