package coordinator

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// phase2 tracks one transaction's phase-2 delivery on this leader: one
// driver goroutine per participant, retrying until acknowledged. When all
// have acknowledged, the transaction is queued for FINISH. Its drivers run
// under ctx (a child of the leader's), so RetryPhase2 can stop them and
// start a fresh entry; a driver of a replaced entry never counts toward the
// new one (delivered and abandon compare the entry).
type phase2 struct {
	out     arbiterpb.Outcome
	started map[string]bool
	pending int
	ctx     context.Context
	cancel  context.CancelFunc
}

// startPhase2 makes sure every participant in parts has a driver. It is
// idempotent: the recovery scan calls it for every decided transaction.
func (c *Coordinator) startPhase2(ls *leaderState, txID string, out arbiterpb.Outcome, parts []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lead != ls {
		return // stepped down meanwhile; the next leader takes over
	}
	p := c.phase2[txID]
	if p == nil {
		ctx, cancel := context.WithCancel(ls.ctx)
		p = &phase2{out: out, started: make(map[string]bool), ctx: ctx, cancel: cancel}
		c.phase2[txID] = p
	}
	for _, pid := range parts {
		if p.started[pid] {
			continue
		}
		p.started[pid] = true
		p.pending++
		c.goBackground(func() { c.deliver(ls, p, txID, pid, out) })
	}
	if len(parts) == 0 && p.pending == 0 {
		c.dropPhase2(txID, p)
		c.queueFinish(txID)
	}
}

// restartPhase2 stops this transaction's drivers (and their backoff) and
// starts fresh ones that send at once. Participants acknowledge repeats.
func (c *Coordinator) restartPhase2(ls *leaderState, txID string, out arbiterpb.Outcome, parts []string) {
	c.mu.Lock()
	if p := c.phase2[txID]; p != nil {
		c.dropPhase2(txID, p)
	}
	c.mu.Unlock()
	c.startPhase2(ls, txID, out, parts)
}

// dropPhase2 forgets p and stops its drivers. The caller holds c.mu.
func (c *Coordinator) dropPhase2(txID string, p *phase2) {
	if c.phase2[txID] == p {
		delete(c.phase2, txID)
	}
	p.cancel()
}

// deliver sends the decision to one participant until it acknowledges or
// this node stops leading.
func (c *Coordinator) deliver(ls *leaderState, p *phase2, txID, pid string, out arbiterpb.Outcome) {
	attempts, start, heuristic := 0, time.Now(), false
	for b := c.newBackoff(); p.ctx.Err() == nil; b.Wait(p.ctx) {
		attempts++
		err := c.sendDecision(ls, pid, out, txID)
		if err == nil {
			c.cfg.Metrics.observe("phase2", start)
			c.history.Acked(txID, pid, out)
			c.delivered(p, txID)
			return
		}
		c.cfg.Metrics.retried()
		c.history.Retry(txID, pid, err)
		if kind := heuristicKind(err); kind != "" {
			c.reportHeuristic(txID, pid, out, kind, attempts, !heuristic, err)
			heuristic = true
		} else if status.Code(err) == codes.FailedPrecondition && attempts > 1 {
			c.log.Warn("participant refuses the decision", zap.String("tx-id", txID),
				zap.String("participant-id", pid), zap.Error(err))
		}
		if attempts == 3 || attempts%50 == 0 {
			c.log.Info("phase 2 retrying", zap.String("tx-id", txID), zap.String("participant-id", pid),
				zap.Int("attempts", attempts), zap.Error(err))
		}
	}
	c.abandon(txID, p)
}

// Heuristic outcomes reported by participants (participant.StatusError):
// FAILED_PRECONDITION whose message starts with the reason and ": " (what
// DecideBatch results carry) or with an ErrorInfo detail of that reason.
const (
	heuristicRollbackReason = "HEURISTIC_ROLLBACK" // COMMIT found the work rolled back
	heuristicCommitReason   = "HEURISTIC_COMMIT"   // ABORT found the work committed
)

// heuristicKind returns "rollback" or "commit" if err reports a heuristic
// outcome, else "".
func heuristicKind(err error) string {
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition {
		return ""
	}
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	switch {
	case reason == heuristicRollbackReason || strings.HasPrefix(st.Message(), heuristicRollbackReason+":"):
		return "rollback"
	case reason == heuristicCommitReason || strings.HasPrefix(st.Message(), heuristicCommitReason+":"):
		return "commit"
	}
	return ""
}

// reportHeuristic logs a heuristic outcome at error level (on the first
// refusal of this driver and every 50th attempt after it; phase 2 keeps
// retrying, so the transaction stays unfinished and visible) and counts it
// once per driver.
func (c *Coordinator) reportHeuristic(txID, pid string, out arbiterpb.Outcome, kind string, attempts int, first bool, err error) {
	if first {
		c.cfg.Metrics.heuristic(kind)
	}
	if first || attempts%50 == 0 {
		c.log.Error("participant reports a heuristic outcome: its data disagrees with the decision; repair it by hand",
			zap.String("tx-id", txID), zap.String("participant-id", pid), zap.String("heuristic", kind),
			zap.Stringer("decision", out), zap.Int("attempts", attempts), zap.Error(err))
	}
}

// delivered counts one acknowledgement toward p, unless p was replaced
// (RetryPhase2) or forgotten meanwhile.
func (c *Coordinator) delivered(p *phase2, txID string) {
	c.cfg.failpoint(failpoint.Phase2Mid, txID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.phase2[txID] != p {
		return
	}
	p.pending--
	if p.pending == 0 {
		// Keep the entry (drivers done) until the FINISH applies, so the
		// scan does not drive phase 2 again while the ID waits in a batch.
		p.cancel()
		c.queueFinish(txID)
	}
}

// finished forgets the phase-2 entries of IDs whose FINISH was recorded or
// lost (then the scan drives phase 2 again and requeues them).
func (c *Coordinator) finished(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if p := c.phase2[id]; p != nil && p.pending == 0 {
			c.dropPhase2(id, p)
		}
	}
}

// abandon forgets a driver stopped by a step-down, so that if this node
// leads again its scan restarts phase 2 from the log. A driver stopped by
// RetryPhase2 finds its entry already replaced and changes nothing.
func (c *Coordinator) abandon(txID string, p *phase2) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropPhase2(txID, p)
}

// queueFinish hands a fully acknowledged transaction to the finisher. The
// caller holds c.mu. If the queue is full the ID is dropped (and its entry
// forgotten): the scan will drive phase 2 again (participants acknowledge
// idempotently) and requeue it.
func (c *Coordinator) queueFinish(txID string) {
	select {
	case c.finishQ <- txID:
	default:
		if p := c.phase2[txID]; p != nil && p.pending == 0 {
			c.dropPhase2(txID, p)
		}
	}
}

func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Canceled, codes.Unknown:
		return true
	}
	return false
}
