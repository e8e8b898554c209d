package coordinator

import (
	"context"
	"time"

	"go.uber.org/zap"

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
			continue
		}
		_, err := c.node.Apply(ls.ctx, arbiterpb.CommandType_COMMAND_TYPE_FINISH, &arbiterpb.FinishCommand{TxIds: batch})
		if err != nil {
			c.log.Info("finish batch not recorded", zap.Int("count", len(batch)), zap.Error(err))
		}
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
