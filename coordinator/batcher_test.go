package coordinator

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// testBatcher answers each request with its double; send blocks until
// release has a value, so that requests queue behind a call in flight.
type testBatcher struct {
	*batcher[int, int]
	wg      sync.WaitGroup
	release chan struct{}
	mu      sync.Mutex
	batches [][]int
}

func newTestBatcher(maxBatch, senders int) *testBatcher {
	tb := &testBatcher{release: make(chan struct{}, 100)}
	tb.batcher = &batcher[int, int]{maxBatch: maxBatch, senders: senders, queueLen: 64,
		spawn: func(f func()) { tb.wg.Go(f) },
		send: func(ls *leaderState, pid string, reqs []int, answer func(int, int, error)) {
			tb.mu.Lock()
			tb.batches = append(tb.batches, slices.Clone(reqs))
			tb.mu.Unlock()
			<-tb.release
			for i, r := range reqs {
				answer(i, 2*r, nil)
			}
		}}
	return tb
}

func testLeadership(t *testing.T) *leaderState {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &leaderState{ctx: ctx, cancel: cancel}
}

// A lone request goes alone; the requests that queue behind a call in
// flight go together, at most maxBatch at a time; each waiter gets its
// own answer.
func TestBatcherBatchesWhatQueues(t *testing.T) {
	tb := newTestBatcher(3, 1)
	ls := testLeadership(t)
	tb.release <- struct{}{}
	if got, err := tb.call(ls.ctx, ls, "p", 1); err != nil || got != 2 {
		t.Fatalf("lone call: %d, %v", got, err)
	}
	first := make(chan error, 1)
	go func() { _, err := tb.call(ls.ctx, ls, "p", 10); first <- err }()
	waitBatches(t, tb, 2) // 10 is in flight, held by send
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			if got, err := tb.call(ls.ctx, ls, "p", 20+i); err != nil || got != 2*(20+i) {
				t.Errorf("call %d: %d, %v", 20+i, got, err)
			}
		})
	}
	waitFor(t, func() bool { return len(tb.queue(ls, "p")) == 5 })
	for range 3 {
		tb.release <- struct{}{}
	}
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	tb.mu.Lock()
	sizes := []int{}
	for _, b := range tb.batches {
		sizes = append(sizes, len(b))
	}
	tb.mu.Unlock()
	if !slices.Equal(sizes, []int{1, 1, 3, 2}) {
		t.Errorf("batch sizes %v, want [1 1 3 2]", sizes)
	}
	ls.cancel()
	tb.wg.Wait()
}

// A waiter whose context ends gets its error; a leadership that ends stops
// its senders, and the next one gets queues of its own.
func TestBatcherStopsWithTheLeadership(t *testing.T) {
	tb := newTestBatcher(8, 2)
	old := testLeadership(t)
	ctx, cancel := context.WithTimeout(old.ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := tb.call(ctx, old, "p", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call held past its deadline: %v", err)
	}
	oldQ := tb.queue(old, "p")
	old.cancel()
	tb.release <- struct{}{} // lets the held send return
	tb.wg.Wait()
	ls := testLeadership(t)
	if tb.queue(ls, "p") == oldQ {
		t.Fatal("a new leadership reuses the old one's queue")
	}
	tb.release <- struct{}{}
	if got, err := tb.call(ls.ctx, ls, "p", 4); err != nil || got != 8 {
		t.Fatalf("call in the new leadership: %d, %v", got, err)
	}
	ls.cancel()
	tb.wg.Wait()
}

func waitBatches(t *testing.T, tb *testBatcher, n int) {
	t.Helper()
	waitFor(t, func() bool {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		return len(tb.batches) == n
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
	}
}
