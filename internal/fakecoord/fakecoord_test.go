package fakecoord_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The fake answers what the test set, and counts what it was asked.
func TestFakeAnswersWhatWasSetAndCounts(t *testing.T) {
	f := fakecoord.Start(t)
	cc, err := grpc.NewClient(f.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	c := arbiterpb.NewCoordinatorClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := c.Resolve(ctx, &arbiterpb.ResolveRequest{TxId: "t"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("Resolve before SetResolve: %v, want UNAVAILABLE", err)
	}
	f.SetResolve(arbiterpb.Outcome_OUTCOME_COMMIT, 3)
	if r, err := c.Resolve(ctx, &arbiterpb.ResolveRequest{TxId: "t"}); err != nil || r.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT || r.GetTerm() != 3 {
		t.Fatalf("Resolve = %v, %v; want COMMIT at term 3", r, err)
	}
	f.SetWindow(time.Minute)
	if r, err := c.Register(ctx, &arbiterpb.RegisterRequest{}); err != nil || r.GetUniquenessWindowMillis() != 60_000 {
		t.Fatalf("Register = %v, %v; want a one-minute window", r, err)
	}
	f.SetEnlistErr(status.Error(codes.NotFound, "gone"))
	if _, err := c.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: "a"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Enlist with an error set: %v, want NOT_FOUND", err)
	}
	f.SetEnlistErr(nil)
	if _, err := c.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: "b"}); err != nil {
		t.Fatal(err)
	}
	f.SetAnswer(func(context.Context, int) error { return errors.New("scripted") })
	if _, err := c.Begin(ctx, &arbiterpb.BeginRequest{}); err == nil {
		t.Fatal("Begin succeeded with a failing answer set")
	}
	if got := f.Enlisted(); len(got) != 1 || got[0] != "b" {
		t.Errorf("Enlisted = %v, want [b]", got)
	}
	if n, m := f.ResolveCount("t"), f.RegisterCount(); n != 2 || m != 1 {
		t.Errorf("ResolveCount, RegisterCount = %d, %d; want 2, 1", n, m)
	}
	if n := len(f.Calls()); n != 6 {
		t.Errorf("%d calls recorded, want 6", n)
	}
}
