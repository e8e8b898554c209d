package participant_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeCoord is a Coordinator gRPC server on real TCP whose answers the test
// sets and whose calls it counts.
type fakeCoord struct {
	arbiterpb.UnimplementedCoordinatorServer
	addr string
	srv  *grpc.Server
	pki  *sectest.PKI // the fake and every test participant use mutual TLS

	mu        sync.Mutex
	registers int
	enlisted  []string // tx IDs
	enlistErr error
	resolves  map[string]int
	outcome   arbiterpb.Outcome
	term      uint64
	window    time.Duration // the uniqueness window Register answers
}

func startFakeCoord(t *testing.T) *fakeCoord {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pki := sectest.New(t)
	srv := grpc.NewServer(security.ServerOption(pki.Source(security.RoleCoordinator, "fake"))...)
	f := &fakeCoord{addr: lis.Addr().String(), srv: srv, pki: pki, resolves: map[string]int{}}
	arbiterpb.RegisterCoordinatorServer(f.srv, f)
	go func() { _ = f.srv.Serve(lis) }()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeCoord) Register(context.Context, *arbiterpb.RegisterRequest) (*arbiterpb.RegisterResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registers++
	return &arbiterpb.RegisterResponse{UniquenessWindowMillis: f.window.Milliseconds()}, nil
}

func (f *fakeCoord) Enlist(_ context.Context, req *arbiterpb.EnlistRequest) (*arbiterpb.EnlistResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enlistErr != nil {
		return nil, f.enlistErr
	}
	f.enlisted = append(f.enlisted, req.GetTxId())
	return &arbiterpb.EnlistResponse{DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()}, nil
}

func (f *fakeCoord) Resolve(_ context.Context, req *arbiterpb.ResolveRequest) (*arbiterpb.ResolveResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolves[req.GetTxId()]++
	if f.outcome == arbiterpb.Outcome_OUTCOME_UNKNOWN && f.term == 0 {
		return nil, status.Error(codes.Unavailable, "no leader")
	}
	return &arbiterpb.ResolveResponse{Outcome: f.outcome, Term: f.term}, nil
}

func (f *fakeCoord) setResolve(o arbiterpb.Outcome, term uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcome, f.term = o, term
}

func (f *fakeCoord) resolveCount(txID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resolves[txID]
}

func (f *fakeCoord) registerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.registers
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
