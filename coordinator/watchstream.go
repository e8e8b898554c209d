package coordinator

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// errWatchEnded: the node is shutting down; the watcher resumes elsewhere.
var errWatchEnded = errors.New("coordinator: this node is shutting down: resume the watch on another node from the next index you hold")

// watchStream is one Watch: a pump reads the FSM's decisions from the
// cursor, filters them and queues responses on out, a channel of
// WatchBuffer responses; the handler's goroutine sends them. The pump
// never blocks on out: when it is full (the client reads slower than
// decisions are applied, or not at all), the pump stops and the stream
// ends, after what was queued, with a slowWatcher error naming the first
// decision not sent. A watcher thus holds at most WatchBuffer responses
// plus gRPC's flow-control window, and never holds up Apply: the FSM only
// closes a channel when it records a decision.
type watchStream struct {
	fsm    *raftlog.FSM
	filter *arbiterpb.WatchFilter
	batch  int
	out    chan *arbiterpb.WatchResponse
	ended  <-chan struct{} // closed when the node stops serving watches
}

// slowWatcher ends a watcher whose buffer was full: it was sent every
// decision before next.
type slowWatcher struct {
	next   raftlog.Cursor
	buffer int
}

func (e *slowWatcher) Error() string {
	return fmt.Sprintf("watcher too slow: its buffer of %d responses was full, so it was cut off; it has been sent every decision before index %d position %d: resume the watch from there (and read faster)",
		e.buffer, e.next.Index, e.next.Position)
}

// run pumps from the cursor and sends until the pump ends or a send fails.
func (w *watchStream) run(ctx context.Context, from raftlog.Cursor, send func(*arbiterpb.WatchResponse) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pumped := make(chan error, 1)
	go func() {
		defer close(w.out)
		pumped <- w.pump(ctx, from)
	}()
	for resp := range w.out {
		if err := send(resp); err != nil {
			cancel()
			for range w.out { // the pump ends on ctx; let it close out
			}
			return err
		}
	}
	return <-pumped
}

// pump queues the decisions from the cursor on, as they are applied.
func (w *watchStream) pump(ctx context.Context, cur raftlog.Cursor) error {
	sent := cur
	for {
		evs, next, changed, err := w.fsm.DecisionsFrom(cur, w.batch)
		if err != nil {
			return err
		}
		resp := &arbiterpb.WatchResponse{NextIndex: next.Index, NextPosition: next.Position}
		for _, e := range evs {
			if matches(w.filter, e) {
				resp.Events = append(resp.Events, e)
			}
		}
		caughtUp := len(evs) < w.batch
		if len(resp.Events) > 0 || (caughtUp && next != sent) { // an empty one tells how far the filter has looked
			select {
			case w.out <- resp:
				sent = next
			default:
				return &slowWatcher{next: cur, buffer: cap(w.out)}
			}
		}
		cur = next
		if !caughtUp {
			continue
		}
		select {
		case <-changed:
		case <-w.ended:
			return errWatchEnded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
