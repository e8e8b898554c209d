package participant_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestDoEnlistsAndPrepares(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir())
	ctx := metadata.NewIncomingContext(bg, metadata.Pairs(client.TxIDMetadataKey, "svc-tx"))
	err := n.agent.Do(ctx, func(ctx context.Context, tx *embedded.Tx) error {
		return tx.Put(ctx, "a", []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := n.state(t, "svc-tx"); st != participant.StatePrepared {
		t.Fatalf("state = %v, want prepared", st)
	}
	enlisted := coord.Enlisted()
	if len(enlisted) != 1 || enlisted[0] != "svc-tx" {
		t.Fatalf("enlisted = %v", enlisted)
	}
	if r := n.prepare(t, "svc-tx", ""); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("coordinator Prepare after Do = %v (%s)", r.GetVote(), r.GetReason())
	}
}

func TestDoWithoutTxID(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	err := n.agent.Do(bg, func(context.Context, *embedded.Tx) error { return nil })
	wantCode(t, err, codes.InvalidArgument)
}

func TestDoEnlistFailureRollsBack(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	coord.SetEnlistErr(status.Error(codes.NotFound, "no such transaction"))
	n := startNode(t, coord, t.TempDir())
	ctx := client.WithTxID(bg, "gone")
	err := n.agent.Do(ctx, func(ctx context.Context, tx *embedded.Tx) error {
		return tx.Put(ctx, "a", []byte("1"))
	})
	wantCode(t, err, codes.NotFound)
	if st := n.state(t, "gone"); st != participant.StateNone {
		t.Fatalf("state = %v, want none", st)
	}
	if r := n.prepare(t, "next", "a=2"); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("key locked after failed Do: %s", r.GetReason())
	}
}

func TestFailpointsCalledInOrder(t *testing.T) {
	var mu sync.Mutex
	var got []failpoint.Point
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir(), func(c *participant.Config) {
		c.Failpoint = func(p failpoint.Point) { mu.Lock(); got = append(got, p); mu.Unlock() }
	})
	n.prepare(t, "tx", "a=1")
	// vote-after-send fires just after the answer left, asynchronously.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
	}
	if _, err := n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: "tx", Term: 1}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []failpoint.Point{failpoint.PrepareBeforeDurable, failpoint.PrepareAfterDurable, failpoint.VoteAfterSend,
		failpoint.CommitBeforeApply, failpoint.CommitAfterApply}
	if !slices.Equal(got, want) {
		t.Fatalf("failpoints = %v, want %v", got, want)
	}
}
