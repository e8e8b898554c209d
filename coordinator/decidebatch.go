package coordinator

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Phase 2 batched per participant (batcher.go): one sender per
// participant takes every decision queued while its previous call was in
// flight and sends them in one DecideBatch (even a lone one).

// maxDecisionBatch bounds the decisions sent in one DecideBatch call.
const maxDecisionBatch = 256

// decision is one phase-2 message: txID's outcome.
type decision struct {
	txID string
	out  arbiterpb.Outcome
}

type decisionBatcher = batcher[decision, struct{}]

func (c *Coordinator) newDecisionBatcher() *decisionBatcher {
	return &decisionBatcher{maxBatch: maxDecisionBatch, senders: 1, queueLen: maxDecisionBatch,
		send: c.sendDecisions, spawn: c.goBackground}
}

// sendDecision delivers one decision through the participant's queue.
func (c *Coordinator) sendDecision(ls *leaderState, pid string, out arbiterpb.Outcome, txID string) error {
	_, err := c.decisions.call(ls.ctx, ls, pid, decision{txID: txID, out: out})
	return err
}

// sendDecisions sends a batch of decisions to pid in one DecideBatch, or
// one by one to a participant SDK without batches.
func (c *Coordinator) sendDecisions(ls *leaderState, pid string, batch []decision, answer func(int, struct{}, error)) {
	cli, err := c.participant(pid)
	if err != nil {
		answerAll(len(batch), answer, err)
		return
	}
	req := &arbiterpb.DecideBatchRequest{Term: ls.term}
	for _, d := range batch {
		req.Items = append(req.Items, &arbiterpb.DecisionItem{TxId: d.txID, Outcome: d.out})
	}
	ctx, cancel := context.WithTimeout(ls.ctx, c.cfg.RPCTimeout)
	defer cancel()
	resp, err := cli.DecideBatch(ctx, req)
	if status.Code(err) == codes.Unimplemented {
		c.sendOneByOne(ctx, cli, ls, batch, answer) // a participant SDK without batches
		return
	}
	if batchFailed(pid, "decisions", len(batch), len(resp.GetResults()), err, answer) {
		return
	}
	for i, res := range resp.GetResults() {
		answer(i, struct{}{}, itemErr(res.GetCode(), res.GetMessage()))
	}
}

func (c *Coordinator) sendOneByOne(ctx context.Context, cli arbiterpb.ParticipantClient, ls *leaderState, batch []decision, answer func(int, struct{}, error)) {
	for i, d := range batch {
		req := &arbiterpb.DecisionRequest{TxId: d.txID, Term: ls.term}
		var err error
		if d.out == arbiterpb.Outcome_OUTCOME_COMMIT {
			_, err = cli.Commit(ctx, req)
		} else {
			_, err = cli.Abort(ctx, req)
		}
		answer(i, struct{}{}, err)
	}
}
