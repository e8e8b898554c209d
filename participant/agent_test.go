package participant_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// node is one participant process: store, agent and gRPC server.
type node struct {
	store *embedded.Store
	agent *participant.Agent[*embedded.Tx]
	srv   *grpc.Server
	conn  *grpc.ClientConn
	pc    arbiterpb.ParticipantClient
	calls atomic.Int32           // handler runs
	hold  chan struct{}          // a "hold" element waits until it is closed
	logs  *observer.ObservedLogs // the agent's warnings and errors
}

// kvHandler runs payloads "k=v;k=v", failing on a "fail" element and
// waiting on n.hold at a "hold" element.
func (n *node) kvHandler(ctx context.Context, tx *embedded.Tx, payload []byte) error {
	n.calls.Add(1)
	for _, op := range strings.Split(string(payload), ";") {
		if op == "hold" {
			<-n.hold
			continue
		}
		k, v, ok := strings.Cut(op, "=")
		if !ok {
			return errors.New("handler failed: " + op)
		}
		if err := tx.Put(ctx, k, []byte(v)); err != nil {
			return err
		}
	}
	return nil
}

func startNode(t *testing.T, coord *fakecoord.Coordinator, dir string, tweaks ...func(*participant.Config)) *node {
	t.Helper()
	return startNodeWith(t, coord, dir, nodeSetup{}, tweaks...)
}

// nodeSetup changes what startNodeWith builds; the zero value changes
// nothing.
type nodeSetup struct {
	wrap func(*embedded.Store) participant.Resource[*embedded.Tx] // the agent serves wrap(store)
	now  func() time.Time                                         // the store's clock
}

// startNodeWith starts a node as startNode does, changed by setup.
func startNodeWith(t *testing.T, coord *fakecoord.Coordinator, dir string, setup nodeSetup, tweaks ...func(*participant.Config)) *node {
	t.Helper()
	store, err := embedded.Open(filepath.Join(dir, "p.db"), embedded.Options{LockTimeout: 100 * time.Millisecond, Now: setup.now})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := participant.DefaultConfig()
	cfg.TLS = coord.PKI.Source(security.RoleParticipant, "p1")
	n := &node{store: store, hold: make(chan struct{})}
	cfg.ID, cfg.Address, cfg.Coordinators = "p1", lis.Addr().String(), []string{coord.Addr}
	cfg.ResolveInterval = 20 * time.Millisecond
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	res := participant.Resource[*embedded.Tx](store)
	if setup.wrap != nil {
		res = setup.wrap(store)
	}
	core, logs := observer.New(zapcore.WarnLevel)
	n.logs = logs
	logger := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))
	if n.agent, err = participant.New(cfg, res, n.kvHandler, logger); err != nil {
		t.Fatal(err)
	}
	opts := n.agent.ServerOptions()
	n.srv = grpc.NewServer(append(opts, grpc.UnaryInterceptor(client.UnaryServerInterceptor()))...)
	n.agent.RegisterService(n.srv)
	go func() { _ = n.srv.Serve(lis) }()
	if n.conn, err = grpc.NewClient(lis.Addr().String(), security.DialTo(coord.PKI.Source(security.RoleCoordinator, "n1"), p1)); err != nil {
		t.Fatal(err)
	}
	n.pc = arbiterpb.NewParticipantClient(n.conn)
	if err := n.agent.Start(bg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.crash)
	return n
}

// crash stops everything; the store's directory survives. Idempotent.
func (n *node) crash() {
	if n.srv == nil {
		return
	}
	_ = n.conn.Close()
	n.srv.Stop()
	n.agent.Close()
	_ = n.store.Close()
	n.srv = nil
}

func (n *node) prepare(t *testing.T, txID, payload string) *arbiterpb.PrepareResponse {
	t.Helper()
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: txID, Payload: []byte(payload),
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	if err != nil {
		t.Fatalf("Prepare(%s): %v", txID, err)
	}
	return resp
}

func (n *node) state(t *testing.T, txID string) participant.State {
	t.Helper()
	st, err := n.store.State(bg, txID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("error = %v, want code %v", err, want)
	}
}

func TestPrepareRunsHandlerAndCommits(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir())
	if coord.RegisterCount() == 0 {
		t.Fatal("Start did not register")
	}
	if r := n.prepare(t, "tx1", "a=1;b=2"); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("vote = %v (%s)", r.GetVote(), r.GetReason())
	}
	if _, err := n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: "tx1", Term: 1}); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := n.store.Read("b"); string(v) != "2" {
		t.Fatalf("b = %q after commit", v)
	}
	info, err := n.pc.Inspect(bg, &arbiterpb.InspectRequest{})
	if err != nil || info.GetCommitted() != 1 || info.GetHighestTerm() != 1 || len(info.GetPrepared()) != 0 {
		t.Fatalf("Inspect = %v, %v", info, err)
	}
}

func TestHandlerErrorVotesNoAndReleasesLocks(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	r := n.prepare(t, "bad", "a=1;fail")
	if r.GetVote() != arbiterpb.Vote_VOTE_NO || !strings.Contains(r.GetReason(), "fail") {
		t.Fatalf("vote = %v (%s), want no", r.GetVote(), r.GetReason())
	}
	if r := n.prepare(t, "good", "a=2"); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("key still locked after a no vote: %s", r.GetReason())
	}
	if r := n.prepare(t, "bad", "a=1"); r.GetVote() != arbiterpb.Vote_VOTE_NO {
		t.Fatal("a retried Prepare after a no vote voted yes")
	}
	if st := n.state(t, "bad"); st != participant.StateAborted {
		t.Fatalf("state = %v, want aborted", st)
	}
}

func TestRetriedPrepareReturnsSameVote(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	var wg sync.WaitGroup
	votes := make([]arbiterpb.Vote, 4)
	for i := range votes {
		wg.Go(func() { votes[i] = n.prepare(t, "tx", "a=1").GetVote() })
	}
	wg.Wait()
	for i, v := range votes {
		if v != arbiterpb.Vote_VOTE_YES {
			t.Fatalf("vote %d = %v", i, v)
		}
	}
	if c := n.calls.Load(); c != 1 {
		t.Fatalf("handler ran %d times, want 1", c)
	}
	if r := n.prepare(t, "empty", ""); r.GetVote() != arbiterpb.Vote_VOTE_NO {
		t.Fatal("Prepare without payload or local work voted yes")
	}
}

func TestStaleTermDecisionRefused(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	n.prepare(t, "tx", "a=1")
	if _, err := n.pc.Abort(bg, &arbiterpb.DecisionRequest{TxId: "other", Term: 5}); err != nil {
		t.Fatal(err)
	}
	_, err := n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: "tx", Term: 3})
	wantCode(t, err, codes.FailedPrecondition)
	if st := n.state(t, "tx"); st != participant.StatePrepared {
		t.Fatalf("stale Commit changed state to %v", st)
	}
	if _, err := n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: "tx", Term: 5}); err != nil {
		t.Fatal(err)
	}
	_, err = n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: "never", Term: 5})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestCrashAfterPrepareRecoversCommit(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	dir := t.TempDir()
	n := startNode(t, coord, dir)
	n.prepare(t, "tx", "a=1")
	n.crash()

	coord.SetResolve(arbiterpb.Outcome_OUTCOME_COMMIT, 7)
	n = startNode(t, coord, dir)
	eventually(t, "recovered commit", func() bool { return n.state(t, "tx") == participant.StateCommitted })
	if v, _, _ := n.store.Read("a"); string(v) != "1" {
		t.Fatalf("a = %q after recovery", v)
	}
	if term, _ := n.store.Term(bg); term != 7 {
		t.Fatalf("term = %d, want 7", term)
	}
}

func TestResolveUnknownLeavesPrepared(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	coord.SetResolve(arbiterpb.Outcome_OUTCOME_UNKNOWN, 3)
	dir := t.TempDir()
	n := startNode(t, coord, dir)
	n.prepare(t, "tx", "a=1")
	n.crash()
	n = startNode(t, coord, dir)
	eventually(t, "resolve call", func() bool { return coord.ResolveCount("tx") > 0 })
	if st := n.state(t, "tx"); st != participant.StatePrepared {
		t.Fatalf("state = %v after UNKNOWN, want prepared", st)
	}
}

// A Prepare whose caller gives up while the handler waits on a lock still
// leaves its abort tombstone: the no vote is recorded with a context of its
// own, so a retry of the same Prepare is refused without running the
// handler again.
func TestNoVoteIsRecordedAfterTheCallerGaveUp(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	if r := n.prepare(t, "holder", "a=1"); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("holder vote = %v (%s)", r.GetVote(), r.GetReason())
	}
	ctx, cancel := context.WithTimeout(bg, 40*time.Millisecond) // shorter than the 100 ms lock wait
	defer cancel()
	_, err := n.pc.Prepare(ctx, &arbiterpb.PrepareRequest{TxId: "late", Payload: []byte("a=2"),
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	wantCode(t, err, codes.DeadlineExceeded)
	deadline := time.Now().Add(5 * time.Second)
	for n.state(t, "late") != participant.StateAborted {
		if time.Now().After(deadline) {
			t.Fatalf("state of the abandoned Prepare = %v, want aborted (a tombstone)", n.state(t, "late"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	calls := n.calls.Load()
	if r := n.prepare(t, "late", "a=2"); r.GetVote() != arbiterpb.Vote_VOTE_NO || n.calls.Load() != calls {
		t.Fatalf("retried Prepare: vote %v, handler runs %d -> %d; want no, without running the handler", r.GetVote(), calls, n.calls.Load())
	}
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
