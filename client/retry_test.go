package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
)

// notLeader is a coordinator's answer when it does not lead and knows no
// leader (coordinator.noLeader, mapped to UNAVAILABLE).
func notLeader(context.Context, int) error {
	return status.Error(codes.Unavailable, "no leader available: node n1 does not lead and knows no leader; retry shortly")
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// A node that is not the leader answers UNAVAILABLE: the client tries the
// next node, returns its answer, and sends later calls there first.
func TestRetriesNotLeaderOnNextNode(t *testing.T) {
	follower := fakecoord.New("follower", notLeader)
	leader := fakecoord.New("leader", nil)
	var retries []error
	cli := newClient(t, client.Config{Addresses: []string{serve(t, follower), serve(t, leader)},
		OnRetry: func(err error) { retries = append(retries, err) }})
	ctx := testCtx(t, 10*time.Second)

	id, err := cli.Begin(ctx, 0)
	if err != nil || id != "tx-from-leader" {
		t.Fatalf("Begin = %q, %v; want the leader's answer", id, err)
	}
	if len(retries) != 1 || status.Code(retries[0]) != codes.Unavailable {
		t.Fatalf("retries = %v, want one UNAVAILABLE", retries)
	}
	if _, err := cli.Begin(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if n := len(follower.Calls()); n != 1 {
		t.Fatalf("follower got %d calls, want 1: the second Begin should go to the node that answered", n)
	}
}

// FAILED_PRECONDITION (already decided, commit started, ...) is an answer,
// not "try elsewhere": it is returned at once, as it came.
func TestFailedPreconditionIsNotRetried(t *testing.T) {
	decided := fakecoord.New("n1", func(context.Context, int) error {
		return status.Error(codes.FailedPrecondition, "transaction already decided: ABORT")
	})
	other := fakecoord.New("n2", nil)
	cli := newClient(t, client.Config{Addresses: []string{serve(t, decided), serve(t, other)}})

	_, err := cli.Commit(testCtx(t, 10*time.Second), "tx-1")
	if status.Code(err) != codes.FailedPrecondition || errors.Is(err, client.ErrOutcomeUnknown) {
		t.Fatalf("Commit err = %v, want the node's FAILED_PRECONDITION", err)
	}
	if n, m := len(decided.Calls()), len(other.Calls()); n != 1 || m != 0 {
		t.Fatalf("calls = %d, %d; want 1, 0 (no retry)", n, m)
	}
}

// A Commit attempt that times out has an unknown outcome: the client asks
// again with the same transaction ID and returns the decision.
func TestCommitRetriedByTxIDAfterTimeout(t *testing.T) {
	n1 := fakecoord.New("n1", func(ctx context.Context, n int) error {
		if n == 1 { // the first attempt gets no answer in time
			select {
			case <-ctx.Done(): // the client's attempt deadline, carried over gRPC
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return errors.New("the client's attempt deadline never reached the server")
			}
		}
		return nil
	})
	cli := newClient(t, client.Config{Addresses: []string{serve(t, n1)}, AttemptTimeout: 200 * time.Millisecond})

	out, err := cli.Commit(testCtx(t, 10*time.Second), "tx-7")
	if err != nil || out.String() != "OUTCOME_COMMIT" {
		t.Fatalf("Commit = %v, %v; want COMMIT", out, err)
	}
	calls := n1.Calls()
	if len(calls) != 2 || calls[0].TxID != "tx-7" || calls[1].TxID != "tx-7" {
		t.Fatalf("calls = %+v, want two Commits of tx-7", calls)
	}
}

// When no node gives an answer before the caller's context ends, the error
// is ErrOutcomeUnknown (with the last node error), and every attempt was
// for the same transaction ID on every node.
func TestOutcomeUnknownWhenRetriesExhausted(t *testing.T) {
	n1 := fakecoord.New("n1", notLeader)
	n2 := fakecoord.New("n2", notLeader)
	cli := newClient(t, client.Config{Addresses: []string{serve(t, n1), serve(t, n2)}})

	_, err := cli.Commit(testCtx(t, 400*time.Millisecond), "tx-9")
	if !errors.Is(err, client.ErrOutcomeUnknown) {
		t.Fatalf("Commit err = %v, want ErrOutcomeUnknown", err)
	}
	calls := append(n1.Calls(), n2.Calls()...)
	if len(n1.Calls()) < 2 || len(n2.Calls()) < 2 {
		t.Fatalf("calls = %+v, want each node tried more than once", calls)
	}
	for _, c := range calls {
		if c.TxID != "tx-9" {
			t.Fatalf("an attempt was for %q, want every one for tx-9", c.TxID)
		}
	}
}

// The pause between rounds is capped at 100 ms: after an election the
// first commit waits for the client's next round, so a long cap added its
// length to every failover (500 ms did). A node that knows no leader for
// 12 attempts is asked again at least every 300 ms however long it takes
// (a 500 ms cap makes later pauses 250-500 ms).
func TestRetryPauseIsCapped(t *testing.T) {
	const refusals = 12
	node := fakecoord.New("n1", func(_ context.Context, n int) error {
		if n <= refusals {
			return status.Error(codes.Unavailable, "no leader available: node n1 does not lead and knows no leader; retry shortly")
		}
		return nil
	})
	var at []time.Time
	cli := newClient(t, client.Config{Addresses: []string{serve(t, node)},
		OnRetry: func(error) { at = append(at, time.Now()) }})
	if _, err := cli.Begin(testCtx(t, 20*time.Second), 0); err != nil {
		t.Fatalf("Begin after %d refusals: %v", refusals, err)
	}
	if len(at) != refusals {
		t.Fatalf("%d retries, want %d", len(at), refusals)
	}
	var longest time.Duration
	for i := 1; i < len(at); i++ {
		longest = max(longest, at[i].Sub(at[i-1]))
	}
	if longest > 300*time.Millisecond {
		t.Fatalf("longest pause between attempts %v, want at most the 100 ms cap (300 ms with slack)", longest)
	}
	t.Logf("longest pause between attempts: %v", longest)
}
