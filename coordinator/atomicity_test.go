package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A service-driven participant that enlists while the client's Commit is
// being decided is either prepared before the decision (and named by the
// COMMIT only once its yes vote is durable) or refused and rolled back;
// never named by a COMMIT it did not vote for. Its Do is held between its
// Enlist and its local prepare until the Commit call returns (or 2 s): a
// COMMIT that names it before it voted is caught at that moment. Every
// transaction finishes, and the money adds up.
func TestLateEnlistDuringCommitIsPreparedOrRefused(t *testing.T) {
	for _, mode := range []arbiterpb.CommitMode{arbiterpb.CommitMode_COMMIT_MODE_STANDARD, arbiterpb.CommitMode_COMMIT_MODE_PARALLEL} {
		t.Run(strings.TrimPrefix(mode.String(), "COMMIT_MODE_"), func(t *testing.T) { lateEnlistRace(t, mode) })
	}
}

func lateEnlistRace(t *testing.T, mode arbiterpb.CommitMode) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	late := &testParticipant{t: t, c: c, id: "late", addr: freeAddr(t), dir: t.TempDir()}
	var hold sync.Mutex
	var commitReturned chan struct{}
	var holdFor time.Duration
	late.failpoint = func(p failpoint.Point) {
		if p != failpoint.DoAfterEnlist {
			return
		}
		hold.Lock()
		ch, d := commitReturned, holdFor
		hold.Unlock()
		select {
		case <-ch:
		case <-time.After(d):
		}
	}
	late.start()
	c.parts["late"] = late
	if err := bank.Seed(context.Background(), late.store, []string{"late-a"}, 100); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "late registered", func() bool { _, ok := c.waitLeader().node.FSM().Participant("late"); return ok })
	cli := c.client()
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleClient, "test"))
	ctx := ctxT(t, 120*time.Second)
	var named, refused int
	var lateDelta int64
	for i := range 30 {
		tx, err := cli.Begin(ctx, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		hold.Lock()
		commitReturned = make(chan struct{})
		holdFor = []time.Duration{0, 30 * time.Millisecond, 2 * time.Second}[i%3] // up to: until the Commit returns
		hold.Unlock()
		doErr := make(chan error, 1)
		go func() {
			doErr <- late.agent.Do(client.WithTxID(ctx, tx), func(ctx context.Context, ltx *embedded.Tx) error {
				return bank.Handler(ctx, ltx, bank.EncodePayload([]*bankpb.Op{{Account: "late-a", Delta: 1}}, nil))
			})
		}()
		time.Sleep(time.Duration(i*2) * time.Millisecond) // vary which of Enlist and Commit goes first
		resp, err := cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: tx, Mode: mode, Branches: []*arbiterpb.Branch{a.branch(-1), b.branch(1)}})
		var lateState participant.State
		if err == nil {
			lateState = late.state(tx)
		}
		hold.Lock()
		close(commitReturned)
		hold.Unlock()
		if err != nil {
			t.Fatalf("tx %d: commit: %v", i, err)
		}
		rec := recordOf(t, c, tx)
		isNamed := slices.Contains(rec.GetParticipants(), "late")
		if resp.GetOutcome() == arbiterpb.Outcome_OUTCOME_COMMIT && isNamed && lateState != participant.StatePrepared && lateState != participant.StateCommitted {
			t.Fatalf("tx %d: COMMIT answered naming late (%v) while late had not prepared (state %v): a participant with no yes vote", i, rec.GetParticipants(), lateState)
		}
		derr := recv(t, doErrChan(doErr), 10*time.Second, "late's Do")
		switch {
		case isNamed && resp.GetOutcome() == arbiterpb.Outcome_OUTCOME_COMMIT:
			named++
			lateDelta++
			if derr != nil {
				t.Fatalf("tx %d: late is named by the COMMIT but its Do failed: %v", i, derr)
			}
			waitFor(t, 10*time.Second, "late committed", func() bool { return late.state(tx) == participant.StateCommitted })
		case derr == nil && resp.GetOutcome() == arbiterpb.Outcome_OUTCOME_COMMIT:
			t.Fatalf("tx %d: late's Do succeeded but the COMMIT does not name it (%v): its work would be lost", i, rec.GetParticipants())
		default:
			refused++
			if derr == nil {
				t.Fatalf("tx %d: late's Do succeeded but the decision is %v", i, resp.GetOutcome())
			}
			waitFor(t, 10*time.Second, "late not committed", func() bool { return late.state(tx) != participant.StatePrepared })
			if late.state(tx) == participant.StateCommitted {
				t.Fatalf("tx %d: late committed work the decision (%v, %v) does not give it", i, resp.GetOutcome(), rec.GetParticipants())
			}
		}
	}
	waitFor(t, 15*time.Second, "every transaction finished", func() bool {
		active, unfinished := c.waitLeader().node.FSM().Counts()
		return active == 0 && unfinished == 0
	})
	if a.balance()+b.balance() != 200 || late.balance() != 100+lateDelta {
		t.Fatalf("balances a=%d b=%d late=%d: money not conserved", a.balance(), b.balance(), late.balance())
	}
	t.Logf("%s: late named by %d commits, refused or aborted in %d", mode, named, refused)
}

func doErrChan(ch chan error) <-chan error { return ch }

func recordOf(t *testing.T, c *testCluster, tx string) *arbiterpb.TxRecord {
	t.Helper()
	rec, ok := c.waitLeader().node.FSM().Get(tx)
	if !ok {
		t.Fatalf("no record of %s", tx)
	}
	return rec
}

// An Abort racing a one-shot Run of the same ID returns the decision: it
// joins the run (COMMIT) or its ABORT is written first and the run answers
// ABORT. Never "not found" while the work commits. After a one-phase
// commit, a later Abort reads COMMIT (the one-phase outcome is recorded).
func TestAbortRacingOneShotReturnsTheDecision(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	a.delay.Store(int64(150 * time.Millisecond))
	cli := c.client()
	ctx := ctxT(t, 60*time.Second)
	for i, branches := range [][]*arbiterpb.Branch{{a.branch(1)}, {a.branch(1)}, {a.branch(-1), b.branch(1)}, {a.branch(-1), b.branch(1)}} {
		tx := client.NewTxID()
		run := make(chan arbiterpb.Outcome, 1)
		go func() {
			_, out, err := cli.Run(ctx, client.RunOptions{TxID: tx}, branches...)
			if err != nil {
				t.Errorf("run %d: %v", i, err)
			}
			run <- out
		}()
		time.Sleep(time.Duration(10+40*(i%2)) * time.Millisecond)
		aborted, err := cli.Abort(ctx, tx)
		if err != nil {
			t.Fatalf("abort %d racing a one-shot: %v (the run is in progress: join it or abort it, never 'not found')", i, err)
		}
		ran := recv(t, run, 30*time.Second, "the run's answer")
		if aborted != ran {
			t.Fatalf("tx %d: Abort answered %v, the one-shot run %v", i, aborted, ran)
		}
		want := participant.StateAborted
		if ran == arbiterpb.Outcome_OUTCOME_COMMIT {
			want = participant.StateCommitted
		}
		waitFor(t, 10*time.Second, "a applied the decision", func() bool {
			st := a.state(tx)
			return st == want || (want == participant.StateAborted && st == participant.StateNone)
		})
		again, err := cli.Abort(ctx, tx)
		if err != nil || again != ran {
			t.Fatalf("tx %d: a later Abort: %v, %v; want the decision %v", i, again, err, ran)
		}
	}
}

// A retried Commit naming a participant that the decision, the staged set
// or the run in progress does not name is refused: never merged into the
// transaction, and the new participant's handler never runs.
func TestCommitRetryWithOtherBranchesIsRefused(t *testing.T) {
	c := newTestCluster(t)
	a, b, e := c.addParticipant("a"), c.addParticipant("b"), c.addParticipant("e")
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleClient, "test"))
	ctx := ctxT(t, 60*time.Second)
	for _, mode := range []arbiterpb.CommitMode{arbiterpb.CommitMode_COMMIT_MODE_STANDARD, arbiterpb.CommitMode_COMMIT_MODE_PARALLEL} {
		tx := client.NewTxID()
		first := &arbiterpb.CommitRequest{TxId: tx, OneShot: true, Mode: mode, Branches: []*arbiterpb.Branch{a.branch(-1), b.branch(1)}}
		a.delay.Store(int64(300 * time.Millisecond))
		done := make(chan *arbiterpb.CommitResponse, 1)
		go func() {
			resp, err := cc.Commit(ctx, first)
			if err != nil {
				t.Errorf("%v: first commit: %v", mode, err)
			}
			done <- resp
		}()
		time.Sleep(100 * time.Millisecond) // the first run is preparing
		retry := &arbiterpb.CommitRequest{TxId: tx, OneShot: true, Mode: mode, Branches: append(first.GetBranches(), e.branch(5))}
		_, err := cc.Commit(ctx, retry)
		wantRefused(t, fmt.Sprintf("%v retry with another branch during the run", mode), err)
		if out := recv(t, done, 20*time.Second, "first commit").GetOutcome(); out != arbiterpb.Outcome_OUTCOME_COMMIT {
			t.Fatalf("%v: first commit %v", mode, out)
		}
		a.delay.Store(0)
		_, err = cc.Commit(ctx, retry)
		wantRefused(t, fmt.Sprintf("%v retry with another branch after the decision", mode), err)
		if resp, err := cc.Commit(ctx, first); err != nil || resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
			t.Fatalf("%v: retry with the same branches: %v, %v; want COMMIT", mode, resp, err)
		}
	}
	if e.calls.Load() != 0 || e.state("x") != participant.StateNone || e.balance() != 100 {
		t.Fatalf("e's handler ran %d times / balance %d: a refused branch was merged", e.calls.Load(), e.balance())
	}
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if st, _ := status.FromError(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "branches of the first attempt") {
		t.Fatalf("%s: %v %q, want FailedPrecondition asking for the first attempt's branches", what, st.Code(), st.Message())
	}
}

// A participant that enlisted and then votes READ_ONLY on its branch is
// not named by the COMMIT (it holds nothing to commit): the decision lists
// it as read-only, phase 2 skips it and the transaction finishes.
func TestEnlistedReadOnlyVoterIsNotNamed(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx, err := cli.Begin(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	pc := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleParticipant, "a"))
	if _, err := pc.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: "a"}); err != nil {
		t.Fatal(err)
	}
	read := &arbiterpb.Branch{ParticipantId: "a", Payload: bank.EncodePayload(nil, []string{"a-a"})}
	if out, err := cli.Commit(ctx, tx, read, b.branch(2)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit: %v %v", out, err)
	}
	rec := recordOf(t, c, tx)
	if !slices.Equal(rec.GetParticipants(), []string{"b"}) || !slices.Equal(rec.GetReadOnly(), []string{"a"}) {
		t.Fatalf("decision names %v, read-only %v; want [b] and [a]", rec.GetParticipants(), rec.GetReadOnly())
	}
	waitFor(t, 10*time.Second, "the transaction finished", func() bool { r, _ := c.waitLeader().node.FSM().Get(tx); return r.GetFinished() })
	if a.balance() != 100 || b.balance() != 102 {
		t.Fatalf("balances a=%d b=%d", a.balance(), b.balance())
	}
}

// The uniqueness window is a duration: a one-shot ID older than it is
// refused (FAILED_PRECONDITION, nothing runs) even though its record was
// forgotten; a participant asking about such an ID hears ABORT and nothing
// is written; an ID not made by client.NewTxID is refused for a one-shot.
func TestUniquenessWindowRefusesOldOneShotIDs(t *testing.T) {
	c := newTestClusterWith(t, func(cfg *coordinator.Config) {
		cfg.DefaultTimeout, cfg.MaxTimeout, cfg.UniquenessWindow = time.Second, 2*time.Second, 3*time.Second
		cfg.FinishDelay = 10 * time.Millisecond
	})
	a, b := c.addParticipant("a"), c.addParticipant("b")
	cli := c.client()
	ctx := ctxT(t, 60*time.Second)
	tx := client.NewTxID()
	if _, out, err := cli.Run(ctx, client.RunOptions{TxID: tx}, a.branch(-1), b.branch(1)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("run: %v %v", out, err)
	}
	if _, out, err := cli.Run(ctx, client.RunOptions{TxID: tx}, a.branch(-1), b.branch(1)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("retry within the window: %v %v; want the recorded COMMIT", out, err)
	}
	waitFor(t, 15*time.Second, "the record forgotten on every node (a FINISH past the window)", func() bool {
		_, _, _ = cli.Run(ctx, client.RunOptions{}, a.branch(0), b.branch(0)) // later FINISH entries carry the cut
		// Any node answers a decided ID from its own FSM: a lagging follower still would.
		for _, n := range c.nodes {
			if _, ok := n.node.FSM().Get(tx); ok {
				return false
			}
		}
		return true
	})
	calls := a.calls.Load()
	_, _, err := cli.Run(ctx, client.RunOptions{TxID: tx}, a.branch(-1), b.branch(1))
	if st, _ := status.FromError(errors.Unwrap(err)); status.Code(err) != codes.FailedPrecondition && st.Code() != codes.FailedPrecondition {
		t.Fatalf("retry past the window: %v; want FailedPrecondition (older than the uniqueness window)", err)
	}
	if !strings.Contains(err.Error(), "uniqueness window") || a.calls.Load() != calls {
		t.Fatalf("retry past the window: %v; handler calls %d -> %d", err, calls, a.calls.Load())
	}
	if a.balance() != 99 || b.balance() != 101 {
		t.Fatalf("balances a=%d b=%d: the old ID ran again", a.balance(), b.balance())
	}
	pc := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleParticipant, "a"))
	resp, err := pc.Resolve(ctx, &arbiterpb.ResolveRequest{TxId: tx, ParticipantId: "a"})
	if err != nil || resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("resolve of an ID past the window: %v %v; want ABORT", resp, err)
	}
	if _, ok := c.waitLeader().node.FSM().Get(tx); ok {
		t.Fatal("resolve of an ID past the window wrote a record")
	}
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleClient, "test"))
	_, err = cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: "order-12345", OneShot: true, Branches: []*arbiterpb.Branch{a.branch(1)}})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "client.NewTxID") {
		t.Fatalf("one-shot with an undated ID: %v %q", st.Code(), st.Message())
	}
}

// IDs with control characters (NUL is refused by PostgreSQL) are refused
// at the edge with InvalidArgument, on every call that takes one.
func TestControlCharactersInIDsAreRefused(t *testing.T) {
	c := newTestCluster(t)
	c.addParticipant("a")
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleClient, "test"))
	pc := arbiterpb.NewCoordinatorClient(c.dial(c.members[c.waitLeader().id], security.RoleParticipant, "a"))
	ctx := ctxT(t, 20*time.Second)
	for _, id := range []string{"tx\x00nul", "tx\nnewline", "tx\x7fdel"} {
		calls := map[string]error{}
		_, calls["commit"] = cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: id, OneShot: true, Branches: []*arbiterpb.Branch{{ParticipantId: "a"}}})
		_, calls["abort"] = cc.Abort(ctx, &arbiterpb.AbortRequest{TxId: id})
		_, calls["status"] = cc.Status(ctx, &arbiterpb.StatusRequest{TxId: id})
		_, calls["resolve"] = pc.Resolve(ctx, &arbiterpb.ResolveRequest{TxId: id, ParticipantId: "a"})
		_, calls["enlist"] = pc.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: id, ParticipantId: "a"})
		for call, err := range calls {
			if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "control character") {
				t.Errorf("%s of %q: %v %q, want InvalidArgument naming the control character", call, id, st.Code(), st.Message())
			}
		}
	}
}

// A one-shot Commit without an ID sent to a follower still gets the ID in
// the arbiter-tx-id response header (the follower chooses it before it
// forwards), and the ID is the one the response names.
func TestForwardedOneShotKeepsTheTxIDHeader(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	c.waitLeader()
	f := c.follower()
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[f.id], security.RoleClient, "test"))
	var hdr metadata.MD
	resp, err := cc.Commit(ctxT(t, 20*time.Second), &arbiterpb.CommitRequest{Branches: []*arbiterpb.Branch{a.branch(1)}}, grpc.Header(&hdr))
	if err != nil || resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("one-shot through a follower: %v %v", resp, err)
	}
	if got := hdr.Get(client.TxIDMetadataKey); len(got) != 1 || got[0] != resp.GetTxId() {
		t.Fatalf("header %s = %v, response tx_id %q", client.TxIDMetadataKey, got, resp.GetTxId())
	}
}

// `arbiter tx retry` (RetryPhase2) of a parallel commit that committed
// implicitly (answered COMMIT, record still STAGING) delivers COMMIT; it
// does not answer "no decision" and suggest an abort the FSM refuses.
func TestRetryPhase2OfAnImplicitCommit(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	hits := c.fail.arm(leader.id, failpoint.BeforeDecide)
	defer c.fail.releaseAll()
	cli := c.client()
	ctx := ctxT(t, 30*time.Second)
	tx := client.NewTxID()
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		_, out, _ := cli.Run(ctx, client.RunOptions{TxID: tx, Mode: client.Parallel}, a.branch(-2), b.branch(2))
		done <- out
	}()
	waitHit(t, hits, "the implicit commit")
	if out := recv(t, done, 10*time.Second, "the client's answer"); out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("parallel commit answered %v", out)
	}
	if rec := recordOf(t, c, tx); rec.GetState() != arbiterpb.TxState_TX_STATE_STAGING {
		t.Fatalf("record %v, want still STAGING (the leader is held before phase 2)", rec.GetState())
	}
	adm := c.adminAs(c.members[leader.id], security.RoleAdmin, "ops")
	resp, err := adm.RetryPhase2(ctx, &arbiterpb.RetryPhase2Request{TxId: tx})
	if err != nil || resp.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("retry of an implicit commit: %v %v; want COMMIT", resp, err)
	}
	c.fail.releaseAll()
	waitFor(t, 10*time.Second, "both committed", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
}

// After a parallel commit was answered COMMIT (STAGING applied, every vote
// yes) and its leader died before FINISH, a participant that tries to
// enlist on the new leader is refused: the staged set is closed, so
// recovery asks only the participants that voted, and commits. (Before,
// the late participant was added, answered REFUSED to recovery, and the
// transaction the client heard COMMIT for aborted.)
func TestEnlistAfterImplicitCommitIsRefused(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	c.addParticipant("late")
	old := c.waitLeader()
	hits := c.fail.arm(old.id, failpoint.BeforeDecide)
	defer c.fail.releaseAll()
	ctx := ctxT(t, 40*time.Second)
	tx := client.NewTxID()
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		_, out, _ := c.client().Run(ctx, client.RunOptions{TxID: tx, Mode: client.Parallel, Timeout: 10 * time.Second}, a.branch(-4), b.branch(4))
		done <- out
	}()
	waitHit(t, hits, "the implicit commit")
	if out := recv(t, done, 10*time.Second, "the client's answer"); out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("parallel commit answered %v", out)
	}
	c.kill(old)
	leader := c.waitLeader()
	pc := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleParticipant, "late"))
	var err error
	for range 50 { // raft leadership comes before the coordinator's takeover: UNAVAILABLE until then
		_, err = pc.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: "late"})
		if status.Code(err) != codes.Unavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, _ := status.FromError(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "committing without you") {
		t.Fatalf("enlist into a staged transaction on the new leader: %v %q; want FailedPrecondition", st.Code(), st.Message())
	}
	info, err := c.client().Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED || slices.Contains(info.GetParticipants(), "late") {
		t.Fatalf("status after recovery: %v %v; want COMMITTED over a and b (the client heard COMMIT)", info, err)
	}
	waitFor(t, 20*time.Second, "a and b committed", func() bool {
		return a.state(tx) == participant.StateCommitted && b.state(tx) == participant.StateCommitted
	})
}

// A one-shot Run that joins a presumed-abort run in progress (an Abort of
// the same ID sent just before it) gets that run's ABORT, not "branches
// differ": the abort run names no participant, and the Run named one
// branch set. Abort goes first, the Run follows within a few hundred
// microseconds, so that some Runs find the abort run still deciding.
func TestOneShotJoiningAnAbortGetsTheAbort(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	cli := c.client()
	ctx := ctxT(t, 60*time.Second)
	var joined int
	for i := range 60 {
		tx := client.NewTxID()
		abort := make(chan arbiterpb.Outcome, 1)
		go func() {
			out, err := cli.Abort(ctx, tx)
			if err != nil {
				t.Errorf("abort %d: %v", i, err)
			}
			abort <- out
		}()
		time.Sleep(time.Duration(i%4) * 100 * time.Microsecond)
		_, out, err := cli.Run(ctx, client.RunOptions{TxID: tx}, a.branch(1))
		if err != nil {
			t.Fatalf("run %d after an Abort of the same ID: %v; want the decision", i, err)
		}
		if aborted := recv(t, abort, 10*time.Second, "the abort"); aborted != out {
			t.Fatalf("tx %d: Abort answered %v, the Run %v", i, aborted, out)
		}
		if out == arbiterpb.Outcome_OUTCOME_ABORT {
			joined++
		}
	}
	if a.balance() != 100+int64(60-joined) {
		t.Fatalf("a's balance %d after %d committed runs", a.balance(), 60-joined)
	}
	t.Logf("%d of 60 runs got the Abort's decision", joined)
}

// A one-phase commit whose leader loses its quorum right after the
// participant committed, and then dies: the transaction was staged before
// the participant ran, so the new leader holds a STAGING record, and a
// client's Abort there settles it by asking the participant: COMMIT, as
// the client heard. (Before, the one-phase COMMIT was recorded after the
// answer; the record died with the old leader and the Abort wrote a
// presumed ABORT over work that had committed.)
func TestOnePhaseCommitSurvivesLosingItsLeader(t *testing.T) {
	c := newTestCluster(t)
	a := c.addParticipant("a")
	leader := c.waitLeader()
	var followers []*testNode
	for _, n := range c.nodes {
		if n != leader {
			followers = append(followers, n)
		}
	}
	a.delay.Store(int64(300 * time.Millisecond))
	cli := c.client(c.members[leader.id])
	ctx := ctxT(t, 60*time.Second)
	tx := client.NewTxID()
	done := make(chan arbiterpb.Outcome, 1)
	go func() {
		_, out, _ := cli.Run(ctx, client.RunOptions{TxID: tx, Timeout: 5 * time.Second}, a.branch(-7))
		done <- out
	}()
	waitFor(t, 5*time.Second, "a runs the one-phase handler", func() bool { return a.calls.Load() == 1 })
	for _, f := range followers {
		c.kill(f)
	}
	heard := recv(t, done, 20*time.Second, "the run's answer")
	if heard != arbiterpb.Outcome_OUTCOME_COMMIT || a.state(tx) != participant.StateCommitted {
		t.Fatalf("client heard %v, a is %v: want COMMIT, committed (a's commit needs no quorum)", heard, a.state(tx))
	}
	c.kill(leader)
	for _, f := range followers {
		c.restart(f)
	}
	c.waitLeader()
	cli2 := c.client(c.members[followers[0].id], c.members[followers[1].id])
	aborted, err := cli2.Abort(ctx, tx)
	if err != nil || aborted != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("Abort on the new leader: %v, %v; want COMMIT (a committed and the client heard COMMIT)", aborted, err)
	}
	info, err := cli2.Status(ctx, tx)
	if err != nil || info.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED || a.balance() != 93 {
		t.Fatalf("status %v, %v; a's balance %d: want COMMITTED and 93", info.GetState(), err, a.balance())
	}
}

// A leader that has lost its quorum but not yet noticed (a deposed leader
// resumed after a pause is the same) lacks what a successor applied: a
// Commit of an ID it has no record of must not be answered NOT_FOUND
// ("begin a transaction first"), which tells the client to give up on a
// transaction that may commit elsewhere. Only a confirmed leader says so.
func TestUnknownIDIsOnlyDeniedByAConfirmedLeader(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	cc := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleClient, "orders"))
	ctx := ctxT(t, 20*time.Second)
	if _, err := cc.Commit(ctx, &arbiterpb.CommitRequest{TxId: client.NewTxID(), Branches: []*arbiterpb.Branch{a.branch(0), b.branch(0)}}); status.Code(err) != codes.NotFound {
		t.Fatalf("Commit of an unknown ID on a healthy leader: %v; want NotFound", err)
	}
	for _, n := range c.nodes {
		if n != leader {
			c.kill(n)
		}
	}
	for i := range 40 {
		actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := cc.Commit(actx, &arbiterpb.CommitRequest{TxId: client.NewTxID(), Branches: []*arbiterpb.Branch{a.branch(0), b.branch(0)}})
		cancel()
		if status.Code(err) == codes.NotFound {
			t.Fatalf("attempt %d, the leader cut from both followers: %v; an unconfirmed leader denied the ID", i, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
