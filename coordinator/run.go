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

// run is one commit attempt on this leader: phase 1 and the decision. A
// retried Commit for the same ID waits on the run already in progress.
type run struct {
	txID  string
	parts []string
	done  chan struct{}
	early chan struct{} // closed by a broken mode that answers early
	// span is the Commit call's trace context: the run outlives the call,
	// but its Prepare calls join the caller's trace (tracing is optional).
	span trace.SpanContext
	out  arbiterpb.Outcome
	why  string
	err  error
}

// commit returns the transaction's outcome, running phase 1 and the
// decision if no decision exists yet. The run is detached from the caller's
// context: a client that disconnects never stops a decision.
func (c *Coordinator) commit(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord, branches []*arbiterpb.Branch) (arbiterpb.Outcome, string, error) {
	if out := outcomeOf(rec); out != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return out, rec.GetReason(), nil
	}
	r, err := c.startRun(ctx, ls, rec, branches)
	if err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, "", err
	}
	select {
	case <-r.done:
		return r.out, r.why, r.err
	case <-r.early:
		return arbiterpb.Outcome_OUTCOME_COMMIT, "", nil
	case <-ctx.Done():
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, "", ctx.Err()
	}
}

func (c *Coordinator) startRun(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord, branches []*arbiterpb.Branch) (*run, error) {
	if err := c.checkRegistered(branches); err != nil {
		return nil, err
	}
	payloads := make(map[string][]byte, len(branches))
	for _, b := range branches {
		payloads[b.GetParticipantId()] = b.GetPayload()
	}
	parts := unionSorted(rec.GetParticipants(), keys(payloads))
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: transaction %s has no participants: pass branches or enlist participants before commit", ErrInvalid, rec.GetTxId())
	}
	if len(parts) > c.cfg.MaxBranches {
		return nil, fmt.Errorf("%w: %d participants exceeds the limit of %d", ErrInvalid, len(parts), c.cfg.MaxBranches)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.runs[rec.GetTxId()]; ok {
		return r, nil
	}
	r := &run{txID: rec.GetTxId(), parts: parts, done: make(chan struct{}), early: make(chan struct{}),
		span: trace.SpanContextFromContext(ctx)}
	c.runs[r.txID] = r
	c.goBackground(func() { c.execute(ls, r, rec.GetDeadlineUnixNanos(), payloads) })
	return r, nil
}

// execute is phase 1 plus the decision, then hands over to phase 2.
func (c *Coordinator) execute(ls *leaderState, r *run, deadline int64, payloads map[string][]byte) {
	defer func() {
		c.mu.Lock()
		delete(c.runs, r.txID)
		c.mu.Unlock()
		close(r.done)
	}()
	start := time.Now()
	want, why := c.prepareAll(ls, r, deadline, payloads)
	c.cfg.Metrics.observe("prepare", start)
	c.cfg.failpoint("before-decide", r.txID)
	want = c.breakDecision(r, want)
	decideStart := time.Now()
	out, parts, err := c.decide(ls.ctx, r.txID, want, r.parts, why)
	c.cfg.Metrics.observe("decide", decideStart)
	if err != nil {
		r.err = err
		return
	}
	r.out, r.why = out, why
	if out != want {
		r.why = "decided earlier by another path"
	}
	c.log.Debug("decided", zap.String("tx-id", r.txID), zap.Stringer("outcome", out), zap.String("reason", r.why))
	c.cfg.failpoint("after-decide", r.txID)
	c.startPhase2(ls, r.txID, out, unionSorted(parts, r.parts))
}

// prepareAll sends Prepare to every participant in parallel, bounded by the
// transaction's deadline, and returns the outcome to propose.
func (c *Coordinator) prepareAll(ls *leaderState, r *run, deadline int64, payloads map[string][]byte) (arbiterpb.Outcome, string) {
	ctx, cancel := context.WithDeadline(trace.ContextWithSpanContext(ls.ctx, r.span), time.Unix(0, deadline))
	defer cancel()
	var mu sync.Mutex
	reason := ""
	var wg sync.WaitGroup
	for _, p := range r.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if why := c.prepareOne(ctx, ls, r.txID, p, deadline, payloads[p]); why != "" {
				mu.Lock()
				if reason == "" {
					reason = why
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if reason != "" {
		return arbiterpb.Outcome_OUTCOME_ABORT, reason
	}
	return arbiterpb.Outcome_OUTCOME_COMMIT, ""
}

// prepareOne returns "" for a yes vote and the reason otherwise. Transport
// errors are retried until the deadline: Prepare is idempotent.
func (c *Coordinator) prepareOne(ctx context.Context, ls *leaderState, txID, pid string, deadline int64, payload []byte) string {
	req := &arbiterpb.PrepareRequest{TxId: txID, Payload: payload, DeadlineUnixNanos: deadline, Term: ls.term}
	var lastErr error
	for b := c.newBackoff(); ctx.Err() == nil; b.wait(ctx) {
		cli, err := c.participant(pid)
		if err != nil {
			return err.Error()
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
		resp, err := cli.Prepare(actx, req)
		cancel()
		if err == nil {
			c.cfg.Metrics.vote(resp.GetVote() == arbiterpb.Vote_VOTE_YES)
			if resp.GetVote() == arbiterpb.Vote_VOTE_YES {
				return ""
			}
			return fmt.Sprintf("participant %s voted no: %s", pid, resp.GetReason())
		}
		lastErr = err
		if !retryable(err) {
			break
		}
	}
	c.cfg.Metrics.vote(false)
	return fmt.Sprintf("participant %s did not vote yes before the deadline: %v", pid, lastErr)
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
			r.out = want
			close(r.early)
			time.Sleep(time.Second)
		}
	}
	return want
}
