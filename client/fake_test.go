package client_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// fakeCoord is a coordinator's client API with scripted answers: answer
// decides each call's error (nil: succeed), and every call is recorded.
type fakeCoord struct {
	arbiterpb.UnimplementedCoordinatorServer
	name string

	mu     sync.Mutex
	answer func(ctx context.Context, n int) error // n counts this node's calls from 1
	calls  []call
}

// call is one request a fake received.
type call struct {
	method string
	txID   string // the request's TxId field
	ctxID  string // the ID client.TxIDFromContext found in the handler's context
}

func (f *fakeCoord) record(ctx context.Context, method, txID string) error {
	ctxID, _ := client.TxIDFromContext(ctx)
	f.mu.Lock()
	f.calls = append(f.calls, call{method: method, txID: txID, ctxID: ctxID})
	n, answer := len(f.calls), f.answer
	f.mu.Unlock()
	if answer == nil {
		return nil
	}
	return answer(ctx, n)
}

// setAnswer replaces the answer while the fake serves.
func (f *fakeCoord) setAnswer(answer func(ctx context.Context, n int) error) {
	f.mu.Lock()
	f.answer = answer
	f.mu.Unlock()
}

func (f *fakeCoord) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeCoord) Begin(ctx context.Context, _ *arbiterpb.BeginRequest) (*arbiterpb.BeginResponse, error) {
	if err := f.record(ctx, "Begin", ""); err != nil {
		return nil, err
	}
	return &arbiterpb.BeginResponse{TxId: "tx-from-" + f.name}, nil
}

func (f *fakeCoord) Commit(ctx context.Context, req *arbiterpb.CommitRequest) (*arbiterpb.CommitResponse, error) {
	if err := f.record(ctx, "Commit", req.GetTxId()); err != nil {
		return nil, err
	}
	return &arbiterpb.CommitResponse{Outcome: arbiterpb.Outcome_OUTCOME_COMMIT}, nil
}

func (f *fakeCoord) Status(ctx context.Context, req *arbiterpb.StatusRequest) (*arbiterpb.StatusResponse, error) {
	if err := f.record(ctx, "Status", req.GetTxId()); err != nil {
		return nil, err
	}
	return &arbiterpb.StatusResponse{Tx: &arbiterpb.TxInfo{TxId: req.GetTxId()}}, nil
}

// serve runs f on a loopback port until the test ends, with the SDK's
// server interceptor, and returns the address.
func serve(t *testing.T, f *fakeCoord) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(client.UnaryServerInterceptor()))
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
	return lis.Addr().String()
}

// newClient is a plaintext SDK client of addrs, closed when the test ends.
func newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	cfg.Insecure = true
	cli, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cli.Close)
	return cli
}

// dialPlain is a plaintext connection with the SDK's client interceptor.
func dialPlain(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
