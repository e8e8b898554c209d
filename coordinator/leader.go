package coordinator

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// leaderState lives from the moment this node has become leader and applied
// every earlier entry (Barrier) until it loses leadership. Everything the
// leader starts runs under ctx, cancelled on step-down.
type leaderState struct {
	ctx    context.Context
	cancel context.CancelFunc
	term   uint64
	// implicit holds the parallel-commit transactions this leader saw
	// commit implicitly (STAGING applied, every vote yes) until their
	// FINISH applies; guarded by Coordinator.mu. A later leader learns the
	// same by asking the participants.
	implicit map[string]bool
}

func (c *Coordinator) watchLeadership(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-c.node.LeaderChanges():
			if isLeader {
				c.stepUp(ctx)
			} else {
				c.stepDown()
			}
		}
	}
}

// stepUp waits until the log is applied up to this leader's first entry,
// then starts the recovery scan: every decided-but-unfinished transaction
// gets phase 2, every undecided one past its deadline is aborted.
func (c *Coordinator) stepUp(ctx context.Context) {
	c.stepDown()
	if !c.catchUp(ctx) {
		return
	}
	lctx, lcancel := context.WithCancel(ctx)
	ls := &leaderState{ctx: lctx, cancel: lcancel, term: c.node.Term(), implicit: make(map[string]bool)}
	c.mu.Lock()
	c.lead = ls
	c.mu.Unlock()
	c.log.Info("leading", zap.Uint64("term", ls.term))
	c.goBackground(func() { c.scanLoop(ls) })
	c.goBackground(func() { c.reachLoop(ls) })
}

// catchUp runs Raft's barrier (each attempt bounded by CatchUpTimeout)
// until it succeeds, and retries a failed one for as long as Raft says this
// node leads: the watcher acts only on a change of leadership, so giving up
// after one failure (a stalled FSM, a slow disk) would leave a healthy Raft
// leader that never leads until some unrelated election (issue 14). It
// reports false when this node no longer leads or ctx ends.
func (c *Coordinator) catchUp(ctx context.Context) bool {
	attempt := 0
	for b := c.newBackoff(); ctx.Err() == nil && c.node.IsLeader(); b.Wait(ctx) {
		attempt++
		bctx, cancel := context.WithTimeout(ctx, c.cfg.CatchUpTimeout)
		err := c.node.Barrier(bctx)
		cancel()
		if err == nil {
			return true
		}
		c.log.Warn("barrier after election failed, retrying while this node leads",
			zap.Int("attempt", attempt), zap.Error(err))
	}
	return false
}

func (c *Coordinator) stepDown() {
	c.mu.Lock()
	ls := c.lead
	c.lead = nil
	c.mu.Unlock()
	if ls != nil {
		ls.cancel()
		c.log.Info("stepped down", zap.Uint64("term", ls.term))
	}
}

func (c *Coordinator) scanLoop(ls *leaderState) {
	t := time.NewTicker(c.cfg.ScanInterval)
	defer t.Stop()
	for {
		c.scan(ls)
		select {
		case <-ls.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scan resumes phase 2 of decided transactions that have no driver and no
// local run, and aborts undecided ones past their deadline that no local run
// owns. A run in progress does its own phase 2 once its decision is applied
// (decideAndFinish); the scan leaves it alone, so a run held between the
// decision and phase 2 is not overtaken. A run that ends without starting
// phase 2 (an error from the proposal, leadership lost) leaves c.runs when
// it ends, and the next scan (here, or on the next leader) takes it over.
func (c *Coordinator) scan(ls *leaderState) {
	now := time.Now().UnixNano()
	for _, rec := range c.node.FSM().Pending() {
		if ls.ctx.Err() != nil {
			return
		}
		switch rec.GetState() {
		case arbiterpb.TxState_TX_STATE_COMMITTED, arbiterpb.TxState_TX_STATE_ABORTED:
			if !c.running(rec.GetTxId()) {
				c.startPhase2(ls, rec.GetTxId(), outcomeOf(rec), rec.GetParticipants())
			}
		case arbiterpb.TxState_TX_STATE_ACTIVE:
			if rec.GetDeadlineUnixNanos() < now && !c.running(rec.GetTxId()) {
				c.timeoutAbort(ls, rec)
			}
		case arbiterpb.TxState_TX_STATE_STAGING:
			if rec.GetDeadlineUnixNanos() < now && !c.running(rec.GetTxId()) {
				c.startRecovery(ls, rec)
			}
		}
	}
}

func (c *Coordinator) timeoutAbort(ls *leaderState, rec *arbiterpb.TxRecord) {
	out, parts, err := c.decide(ls.ctx, rec.GetTxId(), arbiterpb.Outcome_OUTCOME_ABORT, rec.GetParticipants(), "deadline passed before a decision")
	if err != nil {
		c.log.Warn("timeout abort failed", zap.String("tx-id", rec.GetTxId()), zap.Error(err))
		return
	}
	c.startPhase2(ls, rec.GetTxId(), out, parts)
}

func (c *Coordinator) running(txID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.runs[txID]
	return ok
}

func outcomeOf(rec *arbiterpb.TxRecord) arbiterpb.Outcome {
	switch rec.GetState() {
	case arbiterpb.TxState_TX_STATE_COMMITTED:
		return arbiterpb.Outcome_OUTCOME_COMMIT
	case arbiterpb.TxState_TX_STATE_ABORTED:
		return arbiterpb.Outcome_OUTCOME_ABORT
	}
	return arbiterpb.Outcome_OUTCOME_UNKNOWN
}
