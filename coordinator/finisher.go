package coordinator

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/coordinator/internal/txhistory"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// runFinisher batches fully acknowledged transactions into FINISH entries,
// so that the FSM can forget them. Losing a batch (leadership change) is
// harmless: the next leader's scan redrives phase 2 and finishes them.
func (c *Coordinator) runFinisher(ctx context.Context) {
	batch := make([]string, 0, c.cfg.FinishBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-c.finishQ:
			batch = append(batch[:0], id)
		}
		batch = c.fillBatch(ctx, batch)
		ls := c.leader()
		if ls == nil {
			c.finished(batch)
			continue
		}
		explicit, implicit := c.implicitCommits(batch)
		_, err := c.node.Apply(ls.ctx, arbiterpb.CommandType_COMMAND_TYPE_FINISH, c.finishCommand(explicit, implicit))
		if err != nil {
			c.log.Info("finish batch not recorded", zap.Int("count", len(batch)), zap.Error(err))
		} else {
			c.forgetImplicit(implicit)
		}
		c.finished(batch)
		c.noteFinish(batch, err)
	}
}

// noteFinish adds the FINISH to each transaction's history (one string for
// the whole batch).
func (c *Coordinator) noteFinish(batch []string, err error) {
	if c.history == nil {
		return
	}
	what := "finished: every participant acknowledged"
	if err != nil {
		what = "finish not recorded (phase 2 is redriven): " + txhistory.Clip(err.Error())
	}
	for _, id := range batch {
		c.history.Event(id, what)
	}
}

func (c *Coordinator) fillBatch(ctx context.Context, batch []string) []string {
	timer := time.NewTimer(c.cfg.FinishDelay)
	defer timer.Stop()
	for len(batch) < c.cfg.FinishBatch {
		select {
		case id := <-c.finishQ:
			batch = append(batch, id)
		case <-timer.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// finishCommand stamps a FINISH with this leader's clock and the uniqueness
// window's cut: the FSM forgets finished records older than the cut, so an
// ID is remembered for at least the window after it finished.
func (c *Coordinator) finishCommand(explicit, implicit []string) *arbiterpb.FinishCommand {
	now := c.cfg.clock()()
	return &arbiterpb.FinishCommand{TxIds: explicit, ImplicitCommitTxIds: implicit,
		NowUnixNanos: now.UnixNano(), ForgetBeforeUnixNanos: now.Add(-c.cfg.UniquenessWindow).UnixNano()}
}
