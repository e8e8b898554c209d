package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
)

// leaderIs is a follower's answer naming the leader, as
// coordinator/forward.go gives it: UNAVAILABLE with a NOT_LEADER detail.
func leaderIs(addr string) func(context.Context, int) error {
	return func(context.Context, int) error {
		st, err := status.New(codes.Unavailable, "no leader available: node n2 does not lead; the leader is n1 at "+addr).
			WithDetails(&errdetails.ErrorInfo{Reason: "NOT_LEADER", Domain: "arbiter",
				Metadata: map[string]string{"leader-id": "n1", "leader-addr": addr}})
		if err != nil {
			panic(err)
		}
		return st.Err()
	}
}

// The client knows only a follower, which names the leader: the call goes
// to the leader's address and succeeds there, and later calls go straight
// to the leader.
func TestFollowsLeaderHint(t *testing.T) {
	leader := fakecoord.New("leader", nil)
	follower := fakecoord.New("follower", leaderIs(serve(t, leader)))
	cli := newClient(t, client.Config{Addresses: []string{serve(t, follower)}})
	ctx := testCtx(t, 10*time.Second)

	id, err := cli.Begin(ctx, 0)
	if err != nil || id != "tx-from-leader" {
		t.Fatalf("Begin = %q, %v; want the leader's answer", id, err)
	}
	for range 3 {
		if _, err := cli.Status(ctx, "tx-1"); err != nil {
			t.Fatal(err)
		}
	}
	if n, m := len(follower.Calls()), len(leader.Calls()); n != 1 || m != 4 {
		t.Fatalf("follower got %d calls, leader %d; want 1 and 4 (the leader kept)", n, m)
	}
}

// Two nodes that name each other as leader (stale views) do not make a
// call spin: it pauses between rounds and ends with ErrOutcomeUnknown.
func TestLeaderHintsNamingEachOtherDoNotSpin(t *testing.T) {
	a := fakecoord.New("a", nil)
	b := fakecoord.New("b", nil)
	addrA, addrB := serve(t, a), serve(t, b)
	a.SetAnswer(leaderIs(addrB))
	b.SetAnswer(leaderIs(addrA))
	cli := newClient(t, client.Config{Addresses: []string{addrA}})

	_, err := cli.Begin(testCtx(t, 500*time.Millisecond), 0)
	if !errors.Is(err, client.ErrOutcomeUnknown) {
		t.Fatalf("Begin err = %v, want ErrOutcomeUnknown", err)
	}
	// With the backoff (10, 20, 40, ... ms) and at most a few hops per
	// round, 500 ms holds a few dozen attempts; spinning makes thousands.
	if n := len(a.Calls()) + len(b.Calls()); n > 200 {
		t.Fatalf("%d attempts in 500 ms: the client spins between the two nodes", n)
	}
	if len(b.Calls()) == 0 {
		t.Fatal("the client never tried the node the hint named")
	}
}
