package client_test

import (
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
)

// serve runs f on a loopback port until the test ends, with the SDK's
// server interceptor, and returns the address.
func serve(t *testing.T, f *fakecoord.Coordinator) string {
	t.Helper()
	return f.Serve(t, grpc.UnaryInterceptor(client.UnaryServerInterceptor()))
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
