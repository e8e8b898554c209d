package coordinator

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// maxDecisionBatch bounds the decisions sent in one DecideBatch call.
const maxDecisionBatch = 256

// decisionQueue batches phase-2 messages to one participant: a sender
// goroutine takes every decision queued while its previous call was in
// flight and sends them in one DecideBatch (no artificial delay), so under
// load many transactions share one round trip and, at the participant, one
// fsync. Queues live as long as this node's leadership.
type decisionQueue struct {
	ch chan decisionReq
}

type decisionReq struct {
	txID string
	out  arbiterpb.Outcome
	done chan error
}

// decisionQueues are the queues of one leadership.
type decisionQueues struct {
	owner *leaderState
	byPID map[string]*decisionQueue
}

// queueFor returns the participant's queue, starting its sender if needed.
func (c *Coordinator) queueFor(ls *leaderState, pid string) *decisionQueue {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queues.owner != ls {
		c.queues = decisionQueues{owner: ls, byPID: map[string]*decisionQueue{}}
	}
	q := c.queues.byPID[pid]
	if q == nil {
		q = &decisionQueue{ch: make(chan decisionReq, maxDecisionBatch)}
		c.queues.byPID[pid] = q
		c.goBackground(func() { c.sendLoop(ls, pid, q) })
	}
	return q
}

// sendDecision delivers one decision through the participant's queue.
func (c *Coordinator) sendDecision(ls *leaderState, pid string, out arbiterpb.Outcome, txID string) error {
	r := decisionReq{txID: txID, out: out, done: make(chan error, 1)}
	select {
	case c.queueFor(ls, pid).ch <- r:
	case <-ls.ctx.Done():
		return ls.ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ls.ctx.Done():
		return ls.ctx.Err()
	}
}

func (c *Coordinator) sendLoop(ls *leaderState, pid string, q *decisionQueue) {
	for {
		select {
		case <-ls.ctx.Done():
			return // waiters see ls.ctx done too
		case r := <-q.ch:
			batch := []decisionReq{r}
			for len(batch) < maxDecisionBatch && len(q.ch) > 0 {
				batch = append(batch, <-q.ch)
			}
			c.sendBatch(ls, pid, batch)
		}
	}
}

func (c *Coordinator) sendBatch(ls *leaderState, pid string, batch []decisionReq) {
	cli, err := c.participant(pid)
	if err != nil {
		answerAll(batch, err)
		return
	}
	req := &arbiterpb.DecideBatchRequest{Term: ls.term}
	for _, r := range batch {
		req.Items = append(req.Items, &arbiterpb.DecisionItem{TxId: r.txID, Outcome: r.out})
	}
	ctx, cancel := context.WithTimeout(ls.ctx, c.cfg.RPCTimeout)
	defer cancel()
	resp, err := cli.DecideBatch(ctx, req)
	if status.Code(err) == codes.Unimplemented {
		c.sendOneByOne(ctx, cli, ls, batch) // a participant SDK without batches
		return
	}
	if err == nil && len(resp.GetResults()) != len(batch) {
		err = fmt.Errorf("participant %s answered %d results for %d decisions", pid, len(resp.GetResults()), len(batch))
	}
	if err != nil {
		answerAll(batch, err)
		return
	}
	for i, r := range batch {
		res := resp.GetResults()[i]
		if res.GetCode() != 0 {
			r.done <- status.Error(codes.Code(res.GetCode()), res.GetMessage())
		} else {
			r.done <- nil
		}
	}
}

func (c *Coordinator) sendOneByOne(ctx context.Context, cli arbiterpb.ParticipantClient, ls *leaderState, batch []decisionReq) {
	for _, r := range batch {
		req := &arbiterpb.DecisionRequest{TxId: r.txID, Term: ls.term}
		var err error
		if r.out == arbiterpb.Outcome_OUTCOME_COMMIT {
			_, err = cli.Commit(ctx, req)
		} else {
			_, err = cli.Abort(ctx, req)
		}
		r.done <- err
	}
}

func answerAll(batch []decisionReq, err error) {
	for _, r := range batch {
		r.done <- err
	}
}
