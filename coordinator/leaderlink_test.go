package coordinator_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Issue 14, one-way cuts: a follower whose own connections to the leader's
// gRPC server are cut (Raft's, which the leader opens, still flow, so it
// still knows the leader) must not hold forwarded calls until their
// callers give up. A call forwarded when the cut begins ends once the
// follower's checks of the leader mark the link down (three timeouts,
// about a second), and later leader-only calls are refused at once; both
// answers are UNAVAILABLE with the NOT_LEADER hint naming the leader, so
// the client SDK dials it directly. After the heal the follower forwards
// again.
func TestFollowerCutFromLeaderRefusesAtOnce(t *testing.T) {
	c := newTestCluster(t)
	leader := c.waitLeader()
	f := c.follower()
	cli := arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleClient, "app"))
	ctx := ctxT(t, 30*time.Second)
	waitFor(t, 10*time.Second, "a Begin forwarded by the follower", func() bool {
		_, err := cli.Begin(ctx, &arbiterpb.BeginRequest{})
		return err == nil
	})

	c.links.set(f.id, true, c.members[leader.id])
	start := time.Now()
	_, err := cli.Begin(ctx, &arbiterpb.BeginRequest{})
	took := time.Since(start)
	checkNotLeader(t, "the Begin forwarded as the cut began", err, leader)
	if took > 3*time.Second {
		t.Fatalf("the forwarded Begin ended after %v: it waited on the cut instead of ending when the link went down", took)
	}
	why, cut := f.coord.LeaderUnreachable()
	if !cut || !strings.Contains(why, "consecutive timeouts") {
		t.Fatalf("LeaderUnreachable() = %q, %v: want the link down after consecutive timeouts", why, cut)
	}
	t.Logf("forwarded call ended after %v: %v", took.Round(time.Millisecond), status.Convert(err).Message())

	start = time.Now()
	_, err = cli.Begin(ctx, &arbiterpb.BeginRequest{})
	checkNotLeader(t, "a Begin while the link is down", err, leader)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("a Begin on the cut follower took %v, want an answer at once", d)
	}
	// The client SDK follows the hint to the leader.
	sdk := c.client(c.members[f.id])
	if _, err := sdk.Begin(ctx, 0); err != nil {
		t.Fatalf("SDK Begin pointed at the cut follower: %v", err)
	}

	c.links.set(f.id, false, c.members[leader.id])
	waitFor(t, 10*time.Second, "the follower's link to the leader back", func() bool {
		_, cut := f.coord.LeaderUnreachable()
		return !cut
	})
	if _, err := cli.Begin(ctx, &arbiterpb.BeginRequest{}); err != nil {
		t.Fatalf("Begin through the follower after the heal: %v", err)
	}
}

func checkNotLeader(t *testing.T, what string, err error, leader *testNode) {
	t.Helper()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("%s: %v, want UNAVAILABLE", what, err)
	}
	if hint := client.LeaderHint(err); hint == "" {
		t.Fatalf("%s: %v carries no NOT_LEADER hint", what, err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, leader.id) {
		t.Fatalf("%s: %q does not name the leader %s", what, msg, leader.id)
	}
}

// A participant's Enlist can now be sent twice at once: the SDK abandons an
// attempt on a coordinator its view marks down and sends the same Enlist to
// the next one, while the first may still be applied. Eight identical
// Enlists raced through the leader and a follower all succeed, with one
// deadline, and the transaction names the participant once.
func TestDuplicateEnlistsRacedThroughLeaderAndFollower(t *testing.T) {
	c := newTestCluster(t)
	c.addParticipant("a")
	leader := c.waitLeader()
	f := c.follower()
	ctx := ctxT(t, 30*time.Second)
	tx, err := c.client().Begin(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	via := []arbiterpb.CoordinatorClient{
		arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleParticipant, "a")),
		arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleParticipant, "a")),
	}
	deadlines := make(chan int64, 8)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			resp, err := via[i%2].Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: "a"})
			if err != nil {
				errs <- err
				return
			}
			deadlines <- resp.GetDeadlineUnixNanos()
		})
	}
	wg.Wait()
	close(errs)
	close(deadlines)
	for err := range errs {
		t.Errorf("a raced Enlist failed: %v", err)
	}
	var first int64
	for d := range deadlines {
		if first == 0 {
			first = d
		}
		if d != first {
			t.Errorf("Enlists answered different deadlines: %d and %d", first, d)
		}
	}
	rec, ok := leader.node.FSM().Get(tx)
	if !ok {
		t.Fatalf("transaction %s not found", tx)
	}
	if n := strings.Count(strings.Join(rec.GetParticipants(), ","), "a"); n != 1 || len(rec.GetParticipants()) != 1 {
		t.Fatalf("participants %v after eight raced Enlists, want [a]", rec.GetParticipants())
	}
}
