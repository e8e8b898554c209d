package coordinator

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Phase 1 batched per participant (batcher.go), as phase 2 is
// (decidebatch.go): the Prepares queued for one participant go in one
// PrepareBatch call. Several senders per participant keep one slow item (a
// handler waiting on a lock) from holding up every other transaction's
// prepare.

const (
	// maxPrepareBatch bounds the requests in one PrepareBatch call.
	maxPrepareBatch = 128
	// prepareSenders is how many calls may be in flight to one participant.
	prepareSenders = 4
)

type prepareBatcher = batcher[*arbiterpb.PrepareRequest, *arbiterpb.PrepareResponse]

func (c *Coordinator) newPrepareBatcher() *prepareBatcher {
	return &prepareBatcher{maxBatch: maxPrepareBatch, senders: prepareSenders, queueLen: 4 * maxPrepareBatch,
		send: c.sendPrepares, spawn: c.goBackground}
}

// sendPrepare sends one Prepare through pid's queue and waits for its
// answer, or for ctx (the transaction's deadline) to end.
func (c *Coordinator) sendPrepare(ctx context.Context, ls *leaderState, pid string, req *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	return c.prepares.call(ctx, ls, pid, req)
}

// sendPrepares sends a batch of Prepares to pid: alone as a Prepare, else
// in one PrepareBatch, or one by one to a participant SDK without batches.
func (c *Coordinator) sendPrepares(ls *leaderState, pid string, reqs []*arbiterpb.PrepareRequest, answer func(int, *arbiterpb.PrepareResponse, error)) {
	cli, err := c.participant(pid)
	if err != nil {
		answerAll(len(reqs), answer, err)
		return
	}
	ctx, cancel := context.WithTimeout(ls.ctx, c.cfg.RPCTimeout)
	defer cancel()
	if len(reqs) == 1 {
		resp, err := cli.Prepare(ctx, reqs[0])
		answer(0, resp, err)
		return
	}
	resp, err := cli.PrepareBatch(ctx, &arbiterpb.PrepareBatchRequest{Items: reqs})
	if status.Code(err) == codes.Unimplemented { // a participant SDK without batches
		for i, req := range reqs {
			resp, err := cli.Prepare(ctx, req)
			answer(i, resp, err)
		}
		return
	}
	if batchFailed(pid, "prepares", len(reqs), len(resp.GetResults()), err, answer) {
		return
	}
	for i, res := range resp.GetResults() {
		if err := itemErr(res.GetCode(), res.GetMessage()); err != nil {
			answer(i, nil, err)
		} else {
			answer(i, res.GetResponse(), nil)
		}
	}
}
