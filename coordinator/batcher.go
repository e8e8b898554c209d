package coordinator

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// batcher batches one kind of call to each participant, for one
// leadership at a time: a few sender goroutines per participant each take
// every request queued while they were busy and hand them to send as one
// batch (no artificial delay: a lone request goes at once, alone). Under
// load many transactions share one round trip and, at the participant,
// one fsync. The prepare batcher (preparebatch.go) and the decision
// batcher (decidebatch.go) are its two kinds.
type batcher[Req, Res any] struct {
	maxBatch int // requests handed to send at once, at most
	senders  int // batches in flight to one participant, at most
	queueLen int // requests waiting for one participant, at most
	// send makes one batched call (or its fallback) to pid and answers
	// every request of reqs through answer, each exactly once, as soon as
	// its result is known.
	send  func(ls *leaderState, pid string, reqs []Req, answer func(i int, res Res, err error))
	spawn func(func()) // runs a background goroutine (Coordinator.goBackground)

	mu    sync.Mutex
	owner *leaderState // the leadership the queues belong to
	byPID map[string]chan batchItem[Req, Res]
}

type batchItem[Req, Res any] struct {
	req  Req
	done chan batchAnswer[Res]
}

type batchAnswer[Res any] struct {
	res Res
	err error
}

// call sends req to pid through its queue and waits for the answer, or for
// ctx to end. The queues and senders of an earlier leadership are left to
// stop with its context.
func (b *batcher[Req, Res]) call(ctx context.Context, ls *leaderState, pid string, req Req) (Res, error) {
	it := batchItem[Req, Res]{req: req, done: make(chan batchAnswer[Res], 1)}
	var zero Res
	select {
	case b.queue(ls, pid) <- it:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case a := <-it.done:
		return a.res, a.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// queue returns pid's queue, starting its senders if needed.
func (b *batcher[Req, Res]) queue(ls *leaderState, pid string) chan batchItem[Req, Res] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.owner != ls {
		b.owner, b.byPID = ls, map[string]chan batchItem[Req, Res]{}
	}
	q := b.byPID[pid]
	if q == nil {
		q = make(chan batchItem[Req, Res], b.queueLen)
		b.byPID[pid] = q
		for range b.senders {
			b.spawn(func() { b.sendLoop(ls, pid, q) })
		}
	}
	return q
}

// sendLoop takes a request and whatever queued behind it, and sends them
// as one batch, until the leadership ends (its waiters see that too).
func (b *batcher[Req, Res]) sendLoop(ls *leaderState, pid string, q chan batchItem[Req, Res]) {
	for {
		select {
		case <-ls.ctx.Done():
			return
		case it := <-q:
			b.sendBatch(ls, pid, drain(q, []batchItem[Req, Res]{it}, b.maxBatch))
		}
	}
}

// drain appends to batch what q holds, up to max items, without waiting
// (another sender may take an item first).
func drain[T any](q chan T, batch []T, max int) []T {
	for len(batch) < max && len(q) > 0 {
		select {
		case it := <-q:
			batch = append(batch, it)
		default:
		}
	}
	return batch
}

func (b *batcher[Req, Res]) sendBatch(ls *leaderState, pid string, batch []batchItem[Req, Res]) {
	reqs := make([]Req, len(batch))
	for i, it := range batch {
		reqs[i] = it.req
	}
	b.send(ls, pid, reqs, func(i int, res Res, err error) {
		batch[i].done <- batchAnswer[Res]{res, err}
	})
}

// batchFailed reports whether a batched call to pid failed as a whole
// (its error, or a count of results that is not one per request), and
// then answers each of the n requests with that failure.
func batchFailed[Res any](pid, what string, n, results int, err error, answer func(int, Res, error)) bool {
	if err == nil && results != n {
		err = fmt.Errorf("participant %s answered %d results for %d %s", pid, results, n, what)
	}
	if err != nil {
		answerAll(n, answer, err)
		return true
	}
	return false
}

// answerAll answers each of n requests with err.
func answerAll[Res any](n int, answer func(int, Res, error), err error) {
	var zero Res
	for i := range n {
		answer(i, zero, err)
	}
}

// itemErr is the error of one item of a batched call (its gRPC code and
// message), or nil.
func itemErr(code int32, msg string) error {
	if code == 0 {
		return nil
	}
	return status.Error(codes.Code(code), msg)
}
