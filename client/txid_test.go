package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A transaction ID set with WithTxID travels in gRPC metadata to a service
// (UnaryClientInterceptor), which finds it in its handler's context
// (UnaryServerInterceptor) and, calling on with that context, passes it to
// the next service: the service-driven way of joining a transaction.
func TestTxIDCarriedAcrossCalls(t *testing.T) {
	var (
		mu         sync.Mutex
		inMetadata []string
	)
	b := fakecoord.New("b", func(ctx context.Context, _ int) error {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		inMetadata = md.Get(client.TxIDMetadataKey)
		mu.Unlock()
		return nil
	})
	toB := arbiterpb.NewCoordinatorClient(dialPlain(t, serve(t, b)))
	a := fakecoord.New("a", func(ctx context.Context, _ int) error {
		_, err := toB.Status(ctx, &arbiterpb.StatusRequest{TxId: "onward"})
		return err
	})
	toA := arbiterpb.NewCoordinatorClient(dialPlain(t, serve(t, a)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := toA.Status(client.WithTxID(ctx, "tx-42"), &arbiterpb.StatusRequest{TxId: "first"}); err != nil {
		t.Fatal(err)
	}
	if got := a.Calls(); len(got) != 1 || got[0].CtxID != "tx-42" {
		t.Fatalf("service A saw %+v, want one call under tx-42", got)
	}
	if got := b.Calls(); len(got) != 1 || got[0].CtxID != "tx-42" {
		t.Fatalf("service B (called on by A) saw %+v, want one call under tx-42", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(inMetadata) != 1 || inMetadata[0] != "tx-42" {
		t.Fatalf("metadata %q at B = %q, want [tx-42]", client.TxIDMetadataKey, inMetadata)
	}
}

// A call made without WithTxID carries no transaction ID.
func TestNoTxIDWithoutWithTxID(t *testing.T) {
	a := fakecoord.New("a", nil)
	toA := arbiterpb.NewCoordinatorClient(dialPlain(t, serve(t, a)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := toA.Status(ctx, &arbiterpb.StatusRequest{TxId: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := a.Calls(); len(got) != 1 || got[0].CtxID != "" {
		t.Fatalf("service saw %+v, want one call with no transaction ID", got)
	}
}
