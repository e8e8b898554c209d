// Package fakecoord is the one fake coordinator for tests: a Coordinator
// gRPC server on loopback TCP whose answers the test sets and whose calls
// it records. The participant SDK's tests (embedded and PostgreSQL) use
// its Register, Enlist and Resolve; the client SDK's tests use its Begin,
// Commit and Status. Tests that need the real protocol use coordtest.
package fakecoord

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Answer decides a call's error before the fake answers it: nil lets the
// call succeed. n counts the fake's calls from 1 (this one included).
type Answer func(ctx context.Context, n int) error

// Call is one request the fake received.
type Call struct {
	Method string // "Register", "Enlist", "Resolve", "Begin", "Commit" or "Status"
	TxID   string // the request's tx_id field ("" for Register and Begin)
	CtxID  string // the ID client.TxIDFromContext found in the handler's context
}

// Coordinator is the fake. Make one with New and Serve it, or with Start
// or StartTLS; set its answers with the Set methods, safe while it serves.
type Coordinator struct {
	arbiterpb.UnimplementedCoordinatorServer
	// Addr is the address it serves on, set by Serve.
	Addr string
	// PKI, set by StartTLS, is the certificate authority of the fake's
	// mutual TLS: participants under test take their identities from it.
	PKI *sectest.PKI

	name string

	mu        sync.Mutex
	answer    Answer
	calls     []Call
	enlisted  []string // tx IDs of the Enlists answered OK
	enlistErr error
	outcome   arbiterpb.Outcome
	term      uint64
	window    time.Duration
}

// New returns a fake called name (Begin answers the ID "tx-from-"+name)
// that answers with answer (nil: every call succeeds). It does not serve
// until Serve.
func New(name string, answer Answer) *Coordinator {
	return &Coordinator{name: name, answer: answer}
}

// Start serves a plaintext fake called "fake" until t ends.
func Start(t testing.TB) *Coordinator {
	t.Helper()
	f := New("fake", nil)
	f.Serve(t)
	return f
}

// StartTLS serves a fake called "fake" with mutual TLS until t ends: its
// identity is coordinator "fake" from a fresh PKI, kept in f.PKI.
func StartTLS(t testing.TB) *Coordinator {
	t.Helper()
	f := New("fake", nil)
	f.PKI = sectest.New(t)
	f.Serve(t, security.ServerOption(f.PKI.Source(security.RoleCoordinator, "fake"))...)
	return f
}

// Serve runs f on a loopback port with opts until t ends, and returns the
// address (also in f.Addr).
func (f *Coordinator) Serve(t testing.TB, opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.Addr = lis.Addr().String()
	srv := grpc.NewServer(opts...)
	arbiterpb.RegisterCoordinatorServer(srv, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		select { // Serve returns once Stop has closed the listener
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("fake coordinator's Serve did not return after Stop")
		}
	})
	return f.Addr
}
