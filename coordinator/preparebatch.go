package coordinator

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Phase 1 batched per participant, as phase 2 is (decidebatch.go): a few
// sender goroutines per participant each take every Prepare queued while
// they were busy and send them in one PrepareBatch call (no artificial
// delay: a lone Prepare goes at once, alone). Under load many transactions
// share one round trip and, at the participant, one fsync. Several senders
// per participant keep one slow item (a handler waiting on a lock) from
// holding up every other transaction's prepare.

const (
	// maxPrepareBatch bounds the requests in one PrepareBatch call.
	maxPrepareBatch = 128
	// prepareSenders is how many calls may be in flight to one participant.
	prepareSenders = 4
)

type prepareReq struct {
	req  *arbiterpb.PrepareRequest
	done chan prepareRes
}

type prepareRes struct {
	resp *arbiterpb.PrepareResponse
	err  error
}

// prepareQueues are the per-participant queues of one leadership.
type prepareQueues struct {
	owner *leaderState
	byPID map[string]chan prepareReq
}

// prepareQueue returns pid's queue, starting its senders if needed.
func (c *Coordinator) prepareQueue(ls *leaderState, pid string) chan prepareReq {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pqueues.owner != ls {
		c.pqueues = prepareQueues{owner: ls, byPID: map[string]chan prepareReq{}}
	}
	q := c.pqueues.byPID[pid]
	if q == nil {
		q = make(chan prepareReq, 4*maxPrepareBatch)
		c.pqueues.byPID[pid] = q
		for range prepareSenders {
			c.goBackground(func() { c.prepareLoop(ls, pid, q) })
		}
	}
	return q
}

// sendPrepare sends one Prepare through pid's queue and waits for its
// answer, or for ctx (the transaction's deadline) to end.
func (c *Coordinator) sendPrepare(ctx context.Context, ls *leaderState, pid string, req *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	r := prepareReq{req: req, done: make(chan prepareRes, 1)}
	select {
	case c.prepareQueue(ls, pid) <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.resp, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Coordinator) prepareLoop(ls *leaderState, pid string, q chan prepareReq) {
	for {
		select {
		case <-ls.ctx.Done():
			return
		case r := <-q:
			batch := []prepareReq{r}
			for len(batch) < maxPrepareBatch && len(q) > 0 {
				select {
				case r := <-q:
					batch = append(batch, r)
				default:
				}
			}
			c.sendPrepares(ls, pid, batch)
		}
	}
}

func (c *Coordinator) sendPrepares(ls *leaderState, pid string, batch []prepareReq) {
	cli, err := c.participant(pid)
	if err != nil {
		answerPrepares(batch, nil, err)
		return
	}
	ctx, cancel := context.WithTimeout(ls.ctx, c.cfg.RPCTimeout)
	defer cancel()
	if len(batch) == 1 {
		resp, err := cli.Prepare(ctx, batch[0].req)
		batch[0].done <- prepareRes{resp, err}
		return
	}
	req := &arbiterpb.PrepareBatchRequest{Items: make([]*arbiterpb.PrepareRequest, len(batch))}
	for i, r := range batch {
		req.Items[i] = r.req
	}
	resp, err := cli.PrepareBatch(ctx, req)
	if status.Code(err) == codes.Unimplemented { // a participant SDK without batches
		for _, r := range batch {
			resp, err := cli.Prepare(ctx, r.req)
			r.done <- prepareRes{resp, err}
		}
		return
	}
	if err == nil && len(resp.GetResults()) != len(batch) {
		err = fmt.Errorf("participant %s answered %d results for %d prepares", pid, len(resp.GetResults()), len(batch))
	}
	answerPrepares(batch, resp.GetResults(), err)
}

// answerPrepares gives each waiter its result, or err for all.
func answerPrepares(batch []prepareReq, results []*arbiterpb.PrepareResult, err error) {
	for i, r := range batch {
		switch {
		case err != nil:
			r.done <- prepareRes{err: err}
		case results[i].GetCode() != 0:
			r.done <- prepareRes{err: status.Error(codes.Code(results[i].GetCode()), results[i].GetMessage())}
		default:
			r.done <- prepareRes{resp: results[i].GetResponse()}
		}
	}
}
