package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// watchN reads a Watch stream until it has n events or ctx ends.
func watchN(t *testing.T, ctx context.Context, cli arbiterpb.CoordinatorClient, req *arbiterpb.WatchRequest, n int) []*arbiterpb.DecisionEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := cli.Watch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*arbiterpb.DecisionEvent
	for len(evs) < n {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("watch: after %d of %d events: %v", len(evs), n, err)
		}
		evs = append(evs, resp.GetEvents()...)
	}
	return evs
}

// Every node, the followers included, streams the same decisions with the
// same index, seq and time (taken from the log entry, not a local clock),
// in log order, and they are the outcomes the clients were told.
func TestWatchEveryNodeStreamsTheSameDecisions(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	ctx := ctxT(t, 30*time.Second)
	alice := c.clientAs("alice")
	want := map[string]arbiterpb.Outcome{}
	for i := range 4 {
		id, err := alice.Begin(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out arbiterpb.Outcome
		if i%2 == 0 {
			out, err = alice.Commit(ctx, id, a.branch(1))
		} else {
			out, err = alice.Abort(ctx, id)
		}
		if err != nil {
			t.Fatal(err)
		}
		want[id] = out
	}
	var first []*arbiterpb.DecisionEvent
	for _, n := range c.nodes {
		admin := arbiterpb.NewCoordinatorClient(c.dial(c.members[n.id], security.RoleAdmin, "ops"))
		evs := watchN(t, ctx, admin, &arbiterpb.WatchRequest{}, len(want))
		for i, e := range evs {
			if want[e.TxId] != e.Outcome || e.ClientId != "alice" || e.DecidedUnixNanos == 0 {
				t.Fatalf("%s: event %v: want outcome %v, client alice, a time", n.id, e, want[e.TxId])
			}
			if i > 0 && (e.Index <= evs[i-1].Index || e.Seq != evs[i-1].Seq+1) {
				t.Fatalf("%s: events out of order or with a gap: %v after %v", n.id, e, evs[i-1])
			}
		}
		if first == nil {
			first = evs
			continue
		}
		for i := range evs {
			if !proto.Equal(evs[i], first[i]) {
				t.Fatalf("%s streams %v, node n1 %v", n.id, evs[i], first[i])
			}
		}
	}
	t.Logf("3 nodes streamed the same %d decisions, indexes %d..%d", len(first), first[0].Index, first[len(first)-1].Index)
}

// A live watcher receives a decision made after it started, and a resume
// from a response's next cursor yields exactly the decisions after it.
func TestWatchLiveAndResume(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	ctx := ctxT(t, 30*time.Second)
	f := c.follower()
	admin := arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleAdmin, "ops"))
	st, err := admin.Watch(ctx, &arbiterpb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cli := c.client()
	id, err := cli.Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Commit(ctx, id, a.branch(1)); err != nil {
		t.Fatal(err)
	}
	var last *arbiterpb.WatchResponse
	for last == nil || len(last.Events) == 0 {
		if last, err = st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if last.Events[0].TxId != id || last.Events[0].Outcome != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("live event %v, want commit of %s", last.Events[0], id)
	}
	id2, _ := cli.Begin(ctx, 0)
	if _, err := cli.Abort(ctx, id2); err != nil {
		t.Fatal(err)
	}
	evs := watchN(t, ctx, admin, &arbiterpb.WatchRequest{FromIndex: last.NextIndex, FromPosition: last.NextPosition}, 1)
	if evs[0].TxId != id2 || evs[0].Seq != last.Events[0].Seq+1 {
		t.Fatalf("resumed with %v, want the abort of %s right after seq %d", evs[0], id2, last.Events[0].Seq)
	}
}

// A client watches only its own transactions, a participant only those
// naming it, an admin everything; a filter naming someone else is refused
// and a bad outcome is invalid.
func TestWatchAuthorization(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	ctx := ctxT(t, 30*time.Second)
	commit := func(who string, branches ...*arbiterpb.Branch) string {
		cli := c.clientAs(who)
		id, err := cli.Begin(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Commit(ctx, id, branches...); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ali1 := commit("alice", a.branch(1))
	bob1 := commit("bob", b.branch(1))
	ali2 := commit("alice", a.branch(1), b.branch(1))
	addr := c.members[c.follower().id]
	as := func(role security.Role, id string) arbiterpb.CoordinatorClient {
		return arbiterpb.NewCoordinatorClient(c.dial(addr, role, id))
	}
	ids := func(evs []*arbiterpb.DecisionEvent) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.TxId)
		}
		return out
	}
	check := func(who string, got []*arbiterpb.DecisionEvent, want ...string) {
		t.Helper()
		g := ids(got)
		if len(g) != len(want) {
			t.Fatalf("%s sees %v, want %v", who, g, want)
		}
		for i := range want {
			if g[i] != want[i] {
				t.Fatalf("%s sees %v, want %v", who, g, want)
			}
		}
	}
	check("alice", watchN(t, ctx, as(security.RoleClient, "alice"), &arbiterpb.WatchRequest{}, 2), ali1, ali2)
	check("bob", watchN(t, ctx, as(security.RoleClient, "bob"), &arbiterpb.WatchRequest{}, 1), bob1)
	check("participant b", watchN(t, ctx, as(security.RoleParticipant, "b"), &arbiterpb.WatchRequest{}, 2), bob1, ali2)
	check("admin", watchN(t, ctx, as(security.RoleAdmin, "ops"), &arbiterpb.WatchRequest{}, 3), ali1, bob1, ali2)
	check("admin filtering bob", watchN(t, ctx, as(security.RoleAdmin, "ops"),
		&arbiterpb.WatchRequest{Filter: &arbiterpb.WatchFilter{ClientId: "bob"}}, 1), bob1)

	// A client asking for another's: refused; alice sees no more than hers
	// even after a while (the stream stays open with nothing for her).
	refused := func(cli arbiterpb.CoordinatorClient, req *arbiterpb.WatchRequest, code codes.Code, msg string) {
		t.Helper()
		st, err := cli.Watch(ctx, req)
		if err == nil {
			_, err = st.Recv()
		}
		wantCode(t, "watch", err, code, msg)
	}
	refused(as(security.RoleClient, "alice"), &arbiterpb.WatchRequest{Filter: &arbiterpb.WatchFilter{ClientId: "bob"}},
		codes.PermissionDenied, `may watch only decisions of client "alice"`)
	refused(as(security.RoleParticipant, "a"), &arbiterpb.WatchRequest{Filter: &arbiterpb.WatchFilter{ParticipantId: "b"}},
		codes.PermissionDenied, `naming participant "a"`)
	refused(as(security.RoleAdmin, "ops"), &arbiterpb.WatchRequest{Filter: &arbiterpb.WatchFilter{Outcome: 7}},
		codes.InvalidArgument, "filter.outcome 7")
	_ = b
}

// A cursor past the last decision waits for it: nothing is sent and the
// stream stays open. (A cursor before the retained history is refused:
// watchstream_test.go.)
func TestWatchFromTheFutureWaits(t *testing.T) {
	c := newTestCluster(t)
	ctx := ctxT(t, 10*time.Second)
	admin := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleAdmin, "ops"))
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	st, err := admin.Watch(wctx, &arbiterpb.WatchRequest{FromIndex: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := st.Recv()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("a watch from a future index answered %v, %v; want nothing until the deadline", resp, err)
	}
}

// A node that shuts down ends its watches with UNAVAILABLE (the SDK then
// resumes elsewhere), rather than holding up its server's graceful stop;
// arbiter_watchers counts the stream while it runs.
func TestWatchEndsWhenTheNodeCloses(t *testing.T) {
	c := newTestCluster(t)
	ctx := ctxT(t, 10*time.Second)
	n := c.follower()
	admin := arbiterpb.NewCoordinatorClient(c.dial(c.members[n.id], security.RoleAdmin, "ops"))
	st, err := admin.Watch(ctx, &arbiterpb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the watcher counted", func() bool { return gather(t, n)["arbiter_watchers"] == 1 })
	if got := gather(t, n)["arbiter_watchers_dropped_total/slow"]; got != 0 {
		t.Fatalf("arbiter_watchers_dropped_total{slow} = %v before any drop", got)
	}
	n.coord.EndWatches()
	for {
		_, err = st.Recv()
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) || status.Code(err) != codes.Unavailable {
		t.Fatalf("watch on a closing node ended with %v, want UNAVAILABLE", err)
	}
	waitFor(t, 5*time.Second, "the watcher uncounted", func() bool { return gather(t, n)["arbiter_watchers"] == 0 })
}

// A watcher that stops reading is cut off once gRPC's window and its
// buffer have stayed full for WatchStall: its stream ends with RESOURCE_EXHAUSTED naming where to resume, after every
// response buffered before, and arbiter_watchers_dropped_total{slow}
// counts it.
func TestWatchSlowWatcherCutOffOverGRPC(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) {
		cfg.WatchBuffer, cfg.WatchBatch, cfg.WatchStall = 1, 1, 200*time.Millisecond
	})
	ctx := ctxT(t, 60*time.Second)
	leader := c.waitLeader()
	// Fixed 64 KiB windows: gRPC then does not grow them (no BDP
	// estimation), so a client that reads nothing holds at most that.
	cc, err := grpc.NewClient(c.members[leader.id], security.DialTo(c.pki.Source(security.RoleAdmin, "ops"), security.Identity{Role: security.RoleCoordinator}),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	st, err := arbiterpb.NewCoordinatorClient(cc).Watch(ctx, &arbiterpb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Enough decisions to fill the client's 64 KiB window and the server's
	// 64 KiB write quota, so that Send blocks, and then the buffer:
	// transactions begun and aborted, 8 at a time, by a client whose long
	// ID makes each event about 400 bytes.
	long := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleClient, "slow-"+strings.Repeat("x", 200)))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 80 {
				begun, err := long.Begin(ctx, &arbiterpb.BeginRequest{})
				if err == nil {
					_, err = long.Abort(ctx, &arbiterpb.AbortRequest{TxId: begun.GetTxId()})
				}
				if err != nil {
					t.Errorf("begin and abort: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "the slow watcher cut off", func() bool {
		return gather(t, leader)["arbiter_watchers_dropped_total/slow"] == 1
	})
	var got int
	var last *arbiterpb.WatchResponse
	for {
		resp, err := st.Recv()
		if err != nil {
			info := errorInfo(err)
			if status.Code(err) != codes.ResourceExhausted || info.GetReason() != "WATCHER_TOO_SLOW" ||
				info.GetMetadata()["next-index"] != fmt.Sprint(last.GetNextIndex()) {
				t.Fatalf("stream ended with %v (%v), want RESOURCE_EXHAUSTED WATCHER_TOO_SLOW naming next-index %d", err, info, last.GetNextIndex())
			}
			break
		}
		got += len(resp.Events)
		last = resp
	}
	if got == 0 || got >= 640 {
		t.Fatalf("received %d of 640 decisions before the cut-off, want some but not all", got)
	}
	t.Logf("cut off after %d of 640 decisions; resume from index %d", got, last.GetNextIndex())
}

// errorInfo returns the ErrorInfo detail of err's status, if any.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
