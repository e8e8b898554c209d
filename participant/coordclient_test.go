package participant

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// fakeCoord is a coordinator that answers Enlist and health checks, or,
// while frozen, answers nothing (as a node behind a one-way cut: the
// connection stays open and nothing comes back).
type fakeCoord struct {
	arbiterpb.UnimplementedCoordinatorServer
	addr       string
	srv        *grpc.Server
	mu         sync.Mutex
	frozen     chan struct{} // nil: answering; else closed on thaw
	notServing bool
	enlists    atomic.Int64
}

func startFakeCoord(t *testing.T) *fakeCoord {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCoord{addr: lis.Addr().String(), srv: grpc.NewServer()}
	arbiterpb.RegisterCoordinatorServer(f.srv, f)
	healthpb.RegisterHealthServer(f.srv, fakeHealth{f: f})
	go func() { _ = f.srv.Serve(lis) }()
	t.Cleanup(func() { f.thaw(); f.srv.Stop() })
	return f
}

func (f *fakeCoord) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen == nil {
		f.frozen = make(chan struct{})
	}
}

func (f *fakeCoord) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen != nil {
		close(f.frozen)
		f.frozen = nil
	}
}

// wait blocks while f is frozen, until ctx ends.
func (f *fakeCoord) wait(ctx context.Context) error {
	f.mu.Lock()
	ch := f.frozen
	f.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeCoord) Enlist(ctx context.Context, _ *arbiterpb.EnlistRequest) (*arbiterpb.EnlistResponse, error) {
	f.enlists.Add(1)
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	return &arbiterpb.EnlistResponse{}, nil
}

// fakeHealth is f's health service.
type fakeHealth struct {
	healthpb.UnimplementedHealthServer
	f *fakeCoord
}

func (h fakeHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	f := h.f
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notServing {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// testCoordClient dials the fakes with the default probes and a long
// RPCTimeout, so that a call that waits it out is told apart from one the
// health view moved.
func testCoordClient(t *testing.T, rpcTimeout time.Duration, coords ...*fakeCoord) *coordClient {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Insecure, cfg.RPCTimeout = true, rpcTimeout
	for _, f := range coords {
		cfg.Coordinators = append(cfg.Coordinators, f.addr)
	}
	c, err := dialCoordinators(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

func enlist(ctx context.Context, c *coordClient) error {
	return c.call(ctx, func(ctx context.Context, cl arbiterpb.CoordinatorClient) error {
		_, err := cl.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: "t", ParticipantId: "p"})
		return err
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A coordinator that stops answering this participant while a call waits
// on it: the call moves to the next coordinator once the probes mark it
// down (3 timeouts of 200 ms at 250 ms intervals: about a second), not at
// RPCTimeout (here 10 s); later calls go to the next one first; when it
// answers again it is back in the view.
func TestCallLeavesACoordinatorThatStopsAnswering(t *testing.T) {
	a, b := startFakeCoord(t), startFakeCoord(t)
	c := testCoordClient(t, 10*time.Second, a, b)
	if err := enlist(testCtx(t), c); err != nil {
		t.Fatal(err)
	}
	if a.enlists.Load() != 1 || b.enlists.Load() != 0 {
		t.Fatalf("first call: enlists a=%d b=%d, want it on the first coordinator", a.enlists.Load(), b.enlists.Load())
	}
	waitFor(t, "both coordinators in the view", func() bool { return c.reachable() == 2 })

	a.freeze()
	start := time.Now()
	if err := enlist(testCtx(t), c); err != nil {
		t.Fatalf("call during the cut: %v", err)
	}
	took := time.Since(start)
	if took > 3*time.Second {
		t.Fatalf("the call took %v: it waited on the frozen coordinator instead of moving on when the probes marked it down", took)
	}
	if a.enlists.Load() != 2 || b.enlists.Load() != 1 {
		t.Fatalf("call during the cut: enlists a=%d b=%d, want one more on each (tried the frozen one, answered by the other)", a.enlists.Load(), b.enlists.Load())
	}
	if why, down := c.isDown(0); !down {
		t.Fatal("the frozen coordinator is not down in the view")
	} else {
		t.Logf("moved after %v; view: %s", took.Round(time.Millisecond), why)
	}

	// Later calls start with the coordinator that answers, without waiting.
	for range 5 {
		start := time.Now()
		if err := enlist(testCtx(t), c); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a call after the cut took %v", d)
		}
	}
	if a.enlists.Load() != 2 {
		t.Fatalf("later calls went to the frozen coordinator first: %d enlists there, want 2", a.enlists.Load())
	}

	a.thaw()
	waitFor(t, "the thawed coordinator back in the view", func() bool { return c.reachable() == 2 })
}

// One missed health check (a blip shorter than ProbeFailures probes) does
// not move anything: the coordinator stays up in the view.
func TestOneMissedProbeIsNotDown(t *testing.T) {
	a, b := startFakeCoord(t), startFakeCoord(t)
	c := testCoordClient(t, 10*time.Second, a, b)
	waitFor(t, "both coordinators in the view", func() bool { return c.reachable() == 2 })
	a.freeze()
	time.Sleep(300 * time.Millisecond) // at most two probe timeouts
	a.thaw()
	time.Sleep(600 * time.Millisecond)
	if why, down := c.isDown(0); down {
		t.Fatalf("a 300 ms blip made the coordinator down: %s", why)
	}
}

// NOT_SERVING (the node knows no leader) is down at once; calls try that
// node last, and it is back on its first SERVING answer.
func TestNotServingIsTriedLast(t *testing.T) {
	a, b := startFakeCoord(t), startFakeCoord(t)
	c := testCoordClient(t, 10*time.Second, a, b)
	a.mu.Lock()
	a.notServing = true
	a.mu.Unlock()
	waitFor(t, "the NOT_SERVING coordinator down", func() bool { _, d := c.isDown(0); return d })
	for range 3 {
		if err := enlist(testCtx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	if a.enlists.Load() != 0 || b.enlists.Load() != 3 {
		t.Fatalf("enlists a=%d b=%d, want every call on the serving coordinator", a.enlists.Load(), b.enlists.Load())
	}
	a.mu.Lock()
	a.notServing = false
	a.mu.Unlock()
	waitFor(t, "the coordinator back once SERVING", func() bool { return c.reachable() == 2 })
}

// With one coordinator there is nowhere to move: a call waits for its
// answer however long the probes have failed (within RPCTimeout).
func TestOneCoordinatorCallWaits(t *testing.T) {
	a := startFakeCoord(t)
	c := testCoordClient(t, 10*time.Second, a)
	a.freeze()
	go func() {
		time.Sleep(1500 * time.Millisecond) // longer than three probe periods
		a.thaw()
	}()
	start := time.Now()
	if err := enlist(testCtx(t), c); err != nil {
		t.Fatalf("the only coordinator answered late and the call failed: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("the call returned after %v, before the coordinator answered", d)
	}
	if n := a.enlists.Load(); n != 1 {
		t.Fatalf("%d enlists, want the one call waiting (not abandoned and retried)", n)
	}
}

// An attempt abandoned by the view says which coordinator and why.
func TestAbandonedAttemptError(t *testing.T) {
	a, b := startFakeCoord(t), startFakeCoord(t)
	c := testCoordClient(t, 10*time.Second, a, b)
	waitFor(t, "both coordinators in the view", func() bool { return c.reachable() == 2 })
	a.freeze()
	err := c.attempt(testCtx(t), 0, func(ctx context.Context, cl arbiterpb.CoordinatorClient) error {
		_, err := cl.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: "t", ParticipantId: "p"})
		return err
	})
	if status.Code(err) != codes.Unavailable || !retryable(err) {
		t.Fatalf("abandoned attempt: %v, want UNAVAILABLE (retryable)", err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, a.addr) || !strings.Contains(msg, "consecutive timeouts") {
		t.Fatalf("abandoned attempt message %q: want the address and the reason", msg)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
