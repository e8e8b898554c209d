package coordinator

import (
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// phase2 tracks one transaction's phase-2 delivery on this leader: one
// driver goroutine per participant, retrying until acknowledged. When all
// have acknowledged, the transaction is queued for FINISH.
type phase2 struct {
	out     arbiterpb.Outcome
	started map[string]bool
	pending int
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
		p = &phase2{out: out, started: make(map[string]bool)}
		c.phase2[txID] = p
	}
	newParts := 0
	for _, pid := range parts {
		if p.started[pid] {
			continue
		}
		p.started[pid] = true
		p.pending++
		newParts++
		c.goBackground(func() { c.deliver(ls, txID, pid, out) })
	}
	if len(parts) == 0 && p.pending == 0 {
		delete(c.phase2, txID)
		c.queueFinish(txID)
	}
}

// deliver sends the decision to one participant until it acknowledges or
// this node stops leading.
func (c *Coordinator) deliver(ls *leaderState, txID, pid string, out arbiterpb.Outcome) {
	attempts, start := 0, time.Now()
	for b := c.newBackoff(); ls.ctx.Err() == nil; b.wait(ls.ctx) {
		attempts++
		err := c.sendDecision(ls, pid, out, txID)
		if err == nil {
			c.cfg.Metrics.observe("phase2", start)
			c.delivered(ls, txID)
			return
		}
		c.cfg.Metrics.retried()
		if status.Code(err) == codes.FailedPrecondition && attempts > 1 {
			c.log.Warn("participant refuses the decision", zap.String("tx-id", txID),
				zap.String("participant-id", pid), zap.Error(err))
		}
		if attempts == 3 || attempts%50 == 0 {
			c.log.Info("phase 2 retrying", zap.String("tx-id", txID), zap.String("participant-id", pid),
				zap.Int("attempts", attempts), zap.Error(err))
		}
	}
	c.abandon(txID)
}

func (c *Coordinator) delivered(ls *leaderState, txID string) {
	c.cfg.failpoint("phase2-mid", txID)
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.phase2[txID]
	if p == nil {
		return
	}
	p.pending--
	if p.pending == 0 {
		delete(c.phase2, txID)
		c.queueFinish(txID)
	}
}

// abandon forgets a driver stopped by a step-down, so that if this node
// leads again its scan restarts phase 2 from the log.
func (c *Coordinator) abandon(txID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.phase2, txID)
}

// queueFinish hands a fully acknowledged transaction to the finisher. The
// caller holds c.mu. If the queue is full the ID is dropped: the scan will
// drive phase 2 again (participants acknowledge idempotently) and requeue it.
func (c *Coordinator) queueFinish(txID string) {
	select {
	case c.finishQ <- txID:
	default:
	}
}

func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Canceled, codes.Unknown:
		return true
	}
	return false
}
