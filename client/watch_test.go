package client_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// watchNode is a scripted Watch server: each stream gets the events of
// the shared log from the request's cursor, at most perStream of them,
// then ends with end (nil: stays open until the client goes).
type watchNode struct {
	arbiterpb.UnimplementedCoordinatorServer
	log       []*arbiterpb.DecisionEvent
	perStream int
	end       error
	mu        sync.Mutex
	requests  []*arbiterpb.WatchRequest
}

func (n *watchNode) Watch(req *arbiterpb.WatchRequest, st grpc.ServerStreamingServer[arbiterpb.WatchResponse]) error {
	n.mu.Lock()
	n.requests = append(n.requests, req)
	n.mu.Unlock()
	sent := 0
	for _, e := range n.log {
		if e.Index < req.FromIndex || (e.Index == req.FromIndex && e.Position < req.FromPosition) || sent == n.perStream {
			continue
		}
		next := &arbiterpb.WatchResponse{Events: []*arbiterpb.DecisionEvent{e}, NextIndex: e.Index, NextPosition: e.Position + 1}
		if err := st.Send(next); err != nil {
			return err
		}
		sent++
	}
	if n.end != nil {
		return n.end
	}
	<-st.Context().Done()
	return nil
}

// request is the k-th request received (nil if none).
func (n *watchNode) request(k int) *arbiterpb.WatchRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	if k >= len(n.requests) {
		return nil
	}
	return n.requests[k]
}

func (n *watchNode) serve(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	arbiterpb.RegisterCoordinatorServer(srv, n)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// decisionLog is seven decisions, two of them in one entry (index 20).
func decisionLog() []*arbiterpb.DecisionEvent {
	var out []*arbiterpb.DecisionEvent
	for i, at := range [][2]uint32{{10, 0}, {12, 0}, {15, 0}, {20, 0}, {20, 1}, {22, 0}, {30, 0}} {
		out = append(out, &arbiterpb.DecisionEvent{Index: uint64(at[0]), Position: at[1], Seq: uint64(i + 1), TxId: string(rune('a' + i))})
	}
	return out
}

// The Watcher resumes on the next node from the cursor after the last
// decision it returned, also in the middle of an entry's decisions, and
// returns each decision once, in order, across streams that break.
func TestWatchResumesOnAnotherNodeWithoutSkipOrRepeat(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "node going down")
	slow := status.Error(codes.ResourceExhausted, "watcher too slow")
	a := &watchNode{log: decisionLog(), perStream: 2, end: unavailable}
	b := &watchNode{log: decisionLog(), perStream: 2, end: slow}
	cli := newClient(t, client.Config{Addresses: []string{a.serve(t), b.serve(t)}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := cli.Watch(ctx, client.Cursor{}, nil)
	defer w.Close()
	var got []uint64
	for len(got) < 7 {
		e, err := w.Next()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, e.Seq)
	}
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("seqs %v: want 1..7, each once", got)
		}
	}
	if c := w.Cursor(); c != (client.Cursor{Index: 30, Position: 1}) {
		t.Fatalf("cursor %v after the last decision, want {30 1}", c)
	}
	// a from the start (10, 12), b from {12 1} (15, 20.0), a from {20 1}
	// (20.1, 22), b from {22 1} (30).
	for i, want := range []struct {
		n   *watchNode
		k   int
		idx uint64
		pos uint32
	}{{a, 0, 0, 0}, {b, 0, 12, 1}, {a, 1, 20, 1}, {b, 1, 22, 1}} {
		if r := want.n.request(want.k); r.FromIndex != want.idx || r.FromPosition != want.pos {
			t.Fatalf("stream %d asked from {%d %d}, want {%d %d}", i+1, r.FromIndex, r.FromPosition, want.idx, want.pos)
		}
	}
}

// A cursor compacted on every node ends the watch with a CompactedError
// naming the oldest cursor; a refusal ends it at once.
func TestWatchCompactedEverywhereAndRefused(t *testing.T) {
	st, _ := status.New(codes.FailedPrecondition, "decisions compacted").WithDetails(&errdetails.ErrorInfo{
		Reason: "DECISIONS_COMPACTED", Domain: "arbiter", Metadata: map[string]string{"oldest-index": "500", "oldest-position": "0"}})
	a := &watchNode{end: st.Err()}
	b := &watchNode{end: st.Err()}
	cli := newClient(t, client.Config{Addresses: []string{a.serve(t), b.serve(t)}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := cli.Watch(ctx, client.Cursor{Index: 7}, nil)
	_, err := w.Next()
	w.Close()
	var ce *client.CompactedError
	if !errors.As(err, &ce) || !errors.Is(err, client.ErrCompacted) || ce.Oldest != (client.Cursor{Index: 500}) {
		t.Fatalf("got %v, want a CompactedError naming {500 0}", err)
	}
	if a.request(0) == nil || b.request(0) == nil {
		t.Fatal("gave up before asking every node")
	}
	denied := &watchNode{end: status.Error(codes.PermissionDenied, "not yours")}
	cli = newClient(t, client.Config{Addresses: []string{denied.serve(t)}})
	w = cli.Watch(ctx, client.Cursor{}, nil)
	defer w.Close()
	if _, err := w.Next(); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a refusal: %v, want PERMISSION_DENIED at once", err)
	}
}
