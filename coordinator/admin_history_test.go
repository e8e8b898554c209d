package coordinator_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// TraceTx, asked on a follower, is answered by the leader that ran the
// commit: both participants acknowledged COMMIT with no retries, and the
// timeline ends with the FINISH. Bad input, unknown transactions and a
// record without a trace get their documented answers.
func TestTraceTxShowsAcks(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	if out, err := cli.Commit(ctx, tx, a.branch(-5), b.branch(5)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit: %v %v", out, err)
	}
	follower := c.follower()
	adm := c.adminAs(c.members[follower.id], security.RoleAdmin, "ops")
	var resp *arbiterpb.TraceTxResponse
	waitFor(t, 10*time.Second, "the trace to show the finish", func() bool {
		var err error
		resp, err = adm.TraceTx(ctx, &arbiterpb.TraceTxRequest{TxId: tx})
		return err == nil && hasEvent(resp, "finished")
	})
	if resp.GetServedBy() != leader.id || resp.GetTx().GetTxId() != tx || resp.GetTx().GetState() != arbiterpb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("served by %s (leader %s), record %v", resp.GetServedBy(), leader.id, resp.GetTx())
	}
	parts := resp.GetTrace().GetParticipants()
	if len(parts) != 2 || parts[0].GetParticipantId() != "a" || parts[1].GetParticipantId() != "b" {
		t.Fatalf("participants %v", parts)
	}
	for _, p := range parts {
		if p.GetAckedOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT || p.GetAckedUnixNanos() == 0 || p.GetPhase2Retries() != 0 {
			t.Errorf("participant %v: want a COMMIT ack without retries", p)
		}
		if !hasEvent(resp, "phase 2 ack from "+p.GetParticipantId()+" (COMMIT)") {
			t.Errorf("no ack event for %s in %q", p.GetParticipantId(), eventTexts(resp))
		}
	}
	traceRefusals(t, c, adm, follower)
}

func traceRefusals(t *testing.T, c *testCluster, adm arbiterpb.AdminClient, follower *testNode) {
	ctx := ctxT(t, 10*time.Second)
	_, err := adm.TraceTx(ctx, &arbiterpb.TraceTxRequest{})
	wantCode(t, "empty tx_id", err, codes.InvalidArgument, "tx_id is empty")
	_, err = adm.TraceTx(ctx, &arbiterpb.TraceTxRequest{TxId: strings.Repeat("x", 200)})
	wantCode(t, "oversized tx_id", err, codes.InvalidArgument, "at most 128 bytes")
	_, err = adm.TraceTx(ctx, &arbiterpb.TraceTxRequest{TxId: "no-such-tx"})
	wantCode(t, "unknown tx", err, codes.NotFound, "neither a record nor a trace")
	open, _ := c.client().Begin(ctx, 0)
	waitFor(t, 5*time.Second, "the follower to apply BEGIN", func() bool {
		_, ok := follower.node.FSM().Get(open)
		return ok
	})
	for _, local := range []bool{false, true} {
		resp, err := adm.TraceTx(ctx, &arbiterpb.TraceTxRequest{TxId: open, Local: local})
		if err != nil || resp.GetTx().GetTxId() != open || len(resp.GetTrace().GetEvents()) != 0 ||
			!strings.Contains(resp.GetNote(), "no trace on node") {
			t.Errorf("local=%v: a record without a trace: %v, %v", local, resp, err)
		}
		if local && resp.GetServedBy() != follower.id {
			t.Errorf("--local answered by %s, want the follower %s", resp.GetServedBy(), follower.id)
		}
	}
}

// A participant that is down when the decision is made: the trace counts
// the failed phase-2 deliveries, then shows its acknowledgement.
func TestTraceTxShowsPhase2Retries(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) { cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 100*time.Millisecond })
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	hits := c.fail.arm(leader.id, failpoint.AfterDecide)
	cli := c.client()
	ctx := ctxT(t, 40*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		out, _ := cli.Commit(ctx, tx, a.branch(-5), b.branch(5))
		done <- out
	}()
	waitHit(t, hits, "after-decide on the leader")
	b.kill()
	c.fail.releaseAll()
	if out := recv(t, done, 20*time.Second, "the client's commit"); out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("outcome %v, want COMMIT", out)
	}
	adm := c.adminAs(c.members[leader.id], security.RoleAdmin, "ops")
	trace := func() *arbiterpb.TraceTxResponse {
		resp, err := adm.TraceTx(ctx, &arbiterpb.TraceTxRequest{TxId: tx})
		if err != nil {
			t.Fatalf("TraceTx: %v", err)
		}
		return resp
	}
	waitFor(t, 10*time.Second, "retries to b in the trace", func() bool {
		return partOf(trace(), "b").GetPhase2Retries() >= 3
	})
	if p := partOf(trace(), "b"); p.GetAckedOutcome() != arbiterpb.Outcome_OUTCOME_UNKNOWN || p.GetLastError() == "" {
		t.Fatalf("b while down: %v", p)
	}
	b.start()
	var resp *arbiterpb.TraceTxResponse
	waitFor(t, 15*time.Second, "b's ack and the finish in the trace", func() bool {
		resp = trace()
		return hasEvent(resp, "finished")
	})
	p := partOf(resp, "b")
	if p.GetAckedOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT || p.GetPhase2Retries() < 3 {
		t.Fatalf("b after restart: %v", p)
	}
	texts := eventTexts(resp)
	retry := slices.IndexFunc(texts, func(s string) bool { return strings.HasPrefix(s, "phase-2 retr") && strings.Contains(s, " to b") })
	ack := slices.Index(texts, "phase 2 ack from b (COMMIT)")
	if retry < 0 || ack < retry {
		t.Fatalf("want retries to b, then b's ack, in %q", texts)
	}
}

func partOf(r *arbiterpb.TraceTxResponse, id string) *arbiterpb.ParticipantTrace {
	for _, p := range r.GetTrace().GetParticipants() {
		if p.GetParticipantId() == id {
			return p
		}
	}
	return nil
}

func eventTexts(r *arbiterpb.TraceTxResponse) []string {
	var out []string
	for _, e := range r.GetTrace().GetEvents() {
		out = append(out, e.GetText())
	}
	return out
}

// hasEvent reports whether an event starts with prefix.
func hasEvent(r *arbiterpb.TraceTxResponse, prefix string) bool {
	return slices.ContainsFunc(eventTexts(r), func(s string) bool { return strings.HasPrefix(s, prefix) })
}
