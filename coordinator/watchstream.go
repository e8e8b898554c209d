package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// errWatchEnded: the node is shutting down; the watcher resumes elsewhere.
var errWatchEnded = errors.New("coordinator: this node is shutting down: resume the watch on another node from the next index you hold")

// watchStream is one Watch: a pump reads the FSM's decisions from the
// cursor, filters them and queues responses on out, a channel of
// WatchBuffer responses; the handler's goroutine sends them. When out is
// full the pump waits for room, at most WatchStall: a client that reads,
// even one catching up on the whole retained history, drains it; one that
// stops reading (or reads slower than decisions are applied, for that
// long) is cut off, and its stream ends, after what was queued, with a
// slowWatcher error naming the first decision not sent (as Kubernetes'
// watch cache ends a watcher whose buffer stays full past its budget). A
// watcher thus holds at most WatchBuffer responses plus gRPC's
// flow-control window; the decisions themselves are the FSM's retained
// history, shared by every watcher. Apply never waits for a watcher: the
// FSM only closes a channel when it records a decision. A client that
// reads nothing at all gets its status only when it reads again: until
// then (or until its connection fails) its stream and goroutine stay,
// within those bounds, since gRPC offers no way to end a stream whose
// Send is blocked.
type watchStream struct {
	fsm    *raftlog.FSM
	filter *arbiterpb.WatchFilter
	batch  int
	out    chan *arbiterpb.WatchResponse
	ended  <-chan struct{} // closed when the node stops serving watches
	stall  time.Duration   // the longest the pump waits for room in out
	// onSlow is called when the pump cuts the watcher off, at once: the
	// stream itself ends only once its client has read what was queued.
	onSlow func(*slowWatcher)
}

// slowWatcher ends a watcher whose buffer was full: it was sent every
// decision before next.
type slowWatcher struct {
	next   raftlog.Cursor
	buffer int
	stall  time.Duration
}

func (e *slowWatcher) Error() string {
	return fmt.Sprintf("watcher too slow: its buffer of %d responses stayed full for %v, so it was cut off; it has been sent every decision before index %d position %d: resume the watch from there (and read faster)",
		e.buffer, e.stall, e.next.Index, e.next.Position)
}

// queue puts resp on out, waiting at most stall for room; cur is where
// resp starts, named by the error of a watcher cut off.
func (w *watchStream) queue(ctx context.Context, resp *arbiterpb.WatchResponse, cur raftlog.Cursor) error {
	select {
	case w.out <- resp:
		return nil
	default:
	}
	t := time.NewTimer(w.stall)
	defer t.Stop()
	select {
	case w.out <- resp:
		return nil
	case <-t.C:
		slow := &slowWatcher{next: cur, buffer: cap(w.out), stall: w.stall}
		if w.onSlow != nil {
			w.onSlow(slow)
		}
		return slow
	case <-w.ended:
		return errWatchEnded
	case <-ctx.Done():
		return ctx.Err()
	}
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
			if err := w.queue(ctx, resp, cur); err != nil {
				return err
			}
			sent = next
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
