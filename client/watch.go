package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Event is one decision from Watch.
type Event = arbiterpb.DecisionEvent

// Filter selects the decisions Watch returns (empty fields match all).
type Filter = arbiterpb.WatchFilter

// Cursor is a place in the sequence of decisions: the Raft log index of
// the deciding entry and the decision's position among that entry's.
// The zero Cursor means "the oldest decision the node still retains".
type Cursor struct {
	Index    uint64
	Position uint32
}

// ErrCompacted: the watch's cursor is older than what every node it could
// reach retains (see CompactedError for the oldest available).
var ErrCompacted = errors.New("arbiter: decisions compacted")

// CompactedError is ErrCompacted with the oldest cursor still available:
// re-read the state you need (Status), then watch from Oldest.
type CompactedError struct {
	Oldest Cursor
	Err    error // the node's status
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("%v: oldest available is index %d position %d: %v", ErrCompacted, e.Oldest.Index, e.Oldest.Position, e.Err)
}

func (e *CompactedError) Unwrap() error { return ErrCompacted }

// Watcher reads decisions from the cluster, in log order. It keeps the
// cursor after the last decision it returned and, when a stream breaks
// (the node dies, shuts down, or cut the watcher off as too slow), opens
// one on another node from that cursor: no decision is skipped or
// returned twice. Not safe for concurrent use; Close ends it.
type Watcher struct {
	c       *Client
	ctx     context.Context
	cancel  context.CancelFunc
	filter  *Filter
	cur     Cursor // after the last decision returned
	next    Cursor // the stream's position once pending is consumed
	pending []*Event
	node    int
	stream  recvStream
	scancel context.CancelFunc
	pause   *backoff.Backoff
	// compacted counts consecutive nodes that answered "compacted".
	compacted int
	// addr is the address of the node streaming (for Node).
	addr atomic.Pointer[string]
}

// Node is the address of the node the watch streams from, or last tried.
// It is safe to call while Next runs (for logs and tests).
func (w *Watcher) Node() string {
	if a := w.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// Watch starts watching decisions from the cursor on (the zero Cursor:
// the oldest the node retains), narrowed by filter (nil: all the caller
// may see). Nothing is sent until the first Next.
func (c *Client) Watch(ctx context.Context, from Cursor, filter *Filter) *Watcher {
	ctx, cancel := context.WithCancel(ctx)
	return &Watcher{c: c, ctx: ctx, cancel: cancel, filter: filter, cur: from, next: from,
		node: c.nodes.first(), pause: newWatchBackoff()}
}

// Cursor is where the watch goes on: after the last decision Next returned
// (and past any decisions the filter left out before the next one). A
// later Watch from it returns exactly the decisions after.
func (w *Watcher) Cursor() Cursor { return w.cur }

// Close ends the watch; it may be called while Next waits, which then
// returns context.Canceled.
func (w *Watcher) Close() { w.cancel() }

// Next returns the next decision, waiting for one to be applied. It
// fails only when ctx ends (the context's error), when the cursor is
// compacted on every node (*CompactedError), or on an answer no retry can
// change (a permission or argument error, as a gRPC status).
func (w *Watcher) Next() (*Event, error) {
	for len(w.pending) == 0 {
		if err := w.ctx.Err(); err != nil {
			w.drop()
			return nil, err
		}
		if err := w.receive(); err != nil {
			return nil, err
		}
	}
	e := w.pending[0]
	w.pending = w.pending[1:]
	w.cur = Cursor{e.GetIndex(), e.GetPosition()}.after()
	if len(w.pending) == 0 {
		w.cur = w.next
	}
	return e, nil
}

func newWatchBackoff() *backoff.Backoff { return backoff.New(20*time.Millisecond, time.Second) }

func (c Cursor) after() Cursor {
	if c.Position == ^uint32(0) {
		return Cursor{Index: c.Index + 1}
	}
	return Cursor{c.Index, c.Position + 1}
}

// receive reads one response, opening a stream first if needed; a broken
// stream is dropped and the next node tried, after a pause once every node
// has failed in turn.
func (w *Watcher) receive() error {
	if w.stream == nil {
		w.open()
	}
	resp, err := w.stream.Recv()
	if err == nil {
		w.compacted = 0
		w.pause = newWatchBackoff()
		w.pending = resp.GetEvents()
		w.next = Cursor{resp.GetNextIndex(), resp.GetNextPosition()}
		if len(w.pending) == 0 {
			w.cur = w.next
		}
		return nil
	}
	w.drop()
	if w.ctx.Err() != nil {
		return w.ctx.Err()
	}
	if err := w.fatal(err); err != nil {
		return err
	}
	if w.c.cfg.OnRetry != nil {
		w.c.cfg.OnRetry(err)
	}
	w.node = (w.node + 1) % w.c.nodes.count()
	if w.node == w.c.nodes.first() || w.compacted > 0 {
		w.pause.Wait(w.ctx)
	}
	return nil
}

// open starts a stream on the current node from the cursor.
func (w *Watcher) open() {
	cc, _ := w.c.nodes.conn(w.node)
	addr := cc.Target()
	w.addr.Store(&addr)
	ctx, cancel := context.WithCancel(w.ctx)
	req := &arbiterpb.WatchRequest{FromIndex: w.cur.Index, FromPosition: w.cur.Position, Filter: w.filter}
	var st recvStream
	st, err := arbiterpb.NewCoordinatorClient(cc).Watch(ctx, req)
	if err != nil {
		st = failedStream{err}
	}
	w.stream, w.scancel, w.pending, w.next = st, cancel, nil, w.cur
}

func (w *Watcher) drop() {
	if w.scancel != nil {
		w.scancel()
	}
	w.stream, w.scancel = nil, nil
}

// fatal returns err if no other node or a later try can do better: a
// refusal, a bad request, or "compacted" from every node in turn.
func (w *Watcher) fatal(err error) error {
	if errors.Is(err, io.EOF) {
		return nil // the node ended the stream without a status: resume
	}
	switch status.Code(err) {
	case codes.FailedPrecondition:
		if old, ok := compactedAt(err); ok {
			if w.compacted++; w.compacted >= w.c.nodes.count() {
				return &CompactedError{Oldest: old, Err: err}
			}
			return nil
		}
		return err
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Aborted, codes.ResourceExhausted, codes.Internal, codes.Unknown:
		return nil // the node died, is shutting down, or cut us off as slow: resume elsewhere
	}
	return err
}

// compactedAt reads the oldest cursor from a DECISIONS_COMPACTED status.
func compactedAt(err error) (Cursor, bool) {
	for _, d := range status.Convert(err).Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetReason() != "DECISIONS_COMPACTED" {
			continue
		}
		idx, err1 := strconv.ParseUint(info.GetMetadata()["oldest-index"], 10, 64)
		pos, err2 := strconv.ParseUint(info.GetMetadata()["oldest-position"], 10, 32)
		return Cursor{idx, uint32(pos)}, err1 == nil && err2 == nil
	}
	return Cursor{}, false
}

// recvStream is the receiving side of a Watch stream.
type recvStream interface {
	Recv() (*arbiterpb.WatchResponse, error)
}

// failedStream is a stream that could not be opened: its Recv fails.
type failedStream struct{ err error }

func (f failedStream) Recv() (*arbiterpb.WatchResponse, error) { return nil, f.err }
