package mysql_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// node is one participant process: its own pool, store, agent and gRPC
// server, over e's database.
type node struct {
	e     *env
	store *mysql.Store
	agent *participant.Agent[*mysql.Tx]
	srv   *grpc.Server
	conn  *grpc.ClientConn
	pc    arbiterpb.ParticipantClient
	logs  *observer.ObservedLogs // the store's info and above
}

// addHandler runs payloads "id=+n;id=+n" as increments (n may be
// negative), in that order; any other element is rejected (a no vote).
// "?id" reads id under a lock and writes nothing.
func addHandler(ctx context.Context, tx *mysql.Tx, payload []byte) error {
	for _, op := range strings.Split(string(payload), ";") {
		if id, ok := strings.CutPrefix(op, "?"); ok {
			var n int64
			if err := tx.QueryRowContext(ctx, "SELECT n FROM accounts WHERE id = ? FOR UPDATE", id).Scan(&n); err != nil {
				return mysql.Classify(err)
			}
			continue
		}
		id, inc, ok := strings.Cut(op, "=+")
		delta, err := strconv.ParseInt(inc, 10, 64)
		if !ok || err != nil {
			return errors.New("handler rejected element " + strconv.Quote(op))
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO accounts VALUES (?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)", id, delta)
		if err != nil {
			return err
		}
	}
	return nil
}

// startNode starts a participant node of e that talks to the coordinator
// at coordAddr (a fakecoord's Addr or a real one's).
func startNode(t *testing.T, coordAddr string, e *env) *node {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	n := &node{e: e, logs: logs}
	n.store = e.open(t, mysql.Options{LockTimeout: e.lockTimeout, Logger: zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	cfg := participant.DefaultConfig()
	cfg.ID, cfg.Address, cfg.Coordinators = e.id, lis.Addr().String(), []string{coordAddr}
	cfg.Insecure = true // plaintext fake coordinator and server
	cfg.ResolveInterval = 50 * time.Millisecond
	n.agent, err = participant.New(cfg, participant.Resource[*mysql.Tx](n.store), addHandler, zaptest.NewLogger(t))
	must(t, err)
	n.srv = grpc.NewServer(grpc.UnaryInterceptor(client.UnaryServerInterceptor()))
	n.agent.RegisterService(n.srv)
	go func() { _ = n.srv.Serve(lis) }()
	n.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	n.pc = arbiterpb.NewParticipantClient(n.conn)
	must(t, n.agent.Start(bg))
	t.Cleanup(n.crash)
	return n
}

// crash stops the process: gRPC and agent. Prepared branches stay in the
// server. Idempotent.
func (n *node) crash() {
	if n.srv == nil {
		return
	}
	_ = n.conn.Close()
	n.srv.Stop()
	n.agent.Close()
	n.srv = nil
}

func (n *node) prepareReq(t *testing.T, req *arbiterpb.PrepareRequest) *arbiterpb.PrepareResponse {
	t.Helper()
	req.DeadlineUnixNanos, req.Term = time.Now().Add(time.Minute).UnixNano(), 1
	resp, err := n.pc.Prepare(bg, req)
	must(t, err)
	return resp
}

func (n *node) prepare(t *testing.T, txID, payload string) *arbiterpb.PrepareResponse {
	t.Helper()
	return n.prepareReq(t, &arbiterpb.PrepareRequest{TxId: txID, Payload: []byte(payload)})
}

func (n *node) decide(txID string, commit bool) error {
	req := &arbiterpb.DecisionRequest{TxId: txID, Term: 1}
	if commit {
		_, err := n.pc.Commit(bg, req)
		return err
	}
	_, err := n.pc.Abort(bg, req)
	return err
}

// Coordinator-driven: yes votes, commit (retried), abort, a handler's no
// vote with its reason, and a retried Prepare after a no vote.
func TestAgentCommitAbortAndNoVote(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	n := startNode(t, fakecoord.Start(t).Addr, e)
	if r := n.prepare(t, "t1", "a=+5;b=+1"); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("vote = %v (%s)", r.GetVote(), r.GetReason())
	}
	must(t, n.decide("t1", true))
	must(t, n.decide("t1", true)) // retried phase 2
	if a, b := e.value(t, "a"), e.value(t, "b"); a != 5 || b != 1 {
		t.Fatalf("a, b = %d, %d after commit", a, b)
	}
	r := n.prepare(t, "bad", "a=+1;drop everything")
	if r.GetVote() != arbiterpb.Vote_VOTE_NO || !strings.Contains(r.GetReason(), "handler rejected") {
		t.Fatalf("vote = %v (%s), want no with the handler's message", r.GetVote(), r.GetReason())
	}
	if r := n.prepare(t, "bad", "a=+1"); r.GetVote() != arbiterpb.Vote_VOTE_NO {
		t.Fatal("a retried Prepare after a no vote voted yes")
	}
	n.prepare(t, "t2", "a=+100")
	must(t, n.decide("t2", false))
	if a := e.value(t, "a"); a != 5 {
		t.Fatalf("a = %d after a no vote and an abort, want 5", a)
	}
	info, err := n.pc.Inspect(bg, &arbiterpb.InspectRequest{})
	if err != nil || len(info.GetPrepared()) != 0 || info.GetHighestTerm() != 1 {
		t.Fatalf("Inspect = %v, %v", info, err)
	}
	if got := e.branches(t); len(got) != 0 {
		t.Fatalf("XA RECOVER = %v at the end", got)
	}
}

// Service-driven (Agent.Do): the work is prepared and enlisted; a failing
// fn leaves nothing. Then a commit and an abort of service-driven work.
func TestAgentDoServiceDriven(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	coord := fakecoord.Start(t)
	n := startNode(t, coord.Addr, e)
	do := func(txID, payload string) error {
		return n.agent.Do(client.WithTxID(bg, txID), func(ctx context.Context, tx *mysql.Tx) error {
			return addHandler(ctx, tx, []byte(payload))
		})
	}
	must(t, do("svc1", "a=+7"))
	must(t, do("svc2", "c=+50"))
	if ids := coord.Enlisted(); len(ids) != 2 || ids[0] != "svc1" || ids[1] != "svc2" {
		t.Fatalf("enlisted = %v", ids)
	}
	e.wantState(t, "svc1", participant.StatePrepared)
	if r := n.prepare(t, "svc1", ""); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("coordinator Prepare of enlisted work voted %v", r.GetVote())
	}
	must(t, n.decide("svc1", true))
	must(t, n.decide("svc2", false))
	if a := e.value(t, "a"); a != 7 {
		t.Fatalf("a = %d, want 7 (svc1 committed, svc2 aborted)", a)
	}
	err := n.agent.Do(client.WithTxID(bg, "svc3"), func(context.Context, *mysql.Tx) error { return errors.New("nope") })
	if err == nil || err.Error() != "nope" {
		t.Fatalf("Do = %v, want fn's error", err)
	}
	e.wantState(t, "svc3", participant.StateNone)
	if got := e.branches(t); len(got) != 0 {
		t.Fatalf("XA RECOVER = %v at the end", got)
	}
}

// One-phase (the only participant) votes COMMITTED and applies at once; a
// read-only branch votes READ_ONLY, releases its locks and leaves nothing.
func TestAgentOnePhaseAndReadOnly(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	n := startNode(t, fakecoord.Start(t).Addr, e)
	r := n.prepareReq(t, &arbiterpb.PrepareRequest{TxId: "one", Payload: []byte("a=+4"), OnePhase: true})
	if r.GetVote() != arbiterpb.Vote_VOTE_COMMITTED {
		t.Fatalf("one-phase vote = %v (%s)", r.GetVote(), r.GetReason())
	}
	if a := e.value(t, "a"); a != 4 {
		t.Fatalf("a = %d after a one-phase commit", a)
	}
	r = n.prepareReq(t, &arbiterpb.PrepareRequest{TxId: "one", Payload: []byte("a=+4"), OnePhase: true})
	if r.GetVote() != arbiterpb.Vote_VOTE_COMMITTED || e.value(t, "a") != 4 {
		t.Fatalf("retried one-phase: vote %v, a = %d; want COMMITTED and no second run", r.GetVote(), e.value(t, "a"))
	}

	r = n.prepareReq(t, &arbiterpb.PrepareRequest{TxId: "ro", Payload: []byte("?a"), ReadOnlyOk: true})
	if r.GetVote() != arbiterpb.Vote_VOTE_READ_ONLY {
		t.Fatalf("read-only vote = %v (%s)", r.GetVote(), r.GetReason())
	}
	// Its FOR UPDATE lock is released: a writer goes through at once.
	r = n.prepareReq(t, &arbiterpb.PrepareRequest{TxId: "w", Payload: []byte("a=+1"), OnePhase: true})
	if r.GetVote() != arbiterpb.Vote_VOTE_COMMITTED {
		t.Fatalf("writer after the read-only branch: %v (%s)", r.GetVote(), r.GetReason())
	}
	r = n.prepareReq(t, &arbiterpb.PrepareRequest{TxId: "rw", Payload: []byte("?a;b=+1"), ReadOnlyOk: true})
	if r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("a writing branch allowed read-only voted %v, want YES", r.GetVote())
	}
	must(t, n.decide("rw", true))
	if a, b := e.value(t, "a"), e.value(t, "b"); a != 5 || b != 1 {
		t.Fatalf("a, b = %d, %d", a, b)
	}
	if got := e.branches(t); len(got) != 0 {
		t.Fatalf("XA RECOVER = %v at the end", got)
	}
}

// The service stops with a branch prepared; restarted, its recovery finds
// the branch in XA RECOVER, asks the coordinator and commits it.
func TestAgentCrashAfterPrepareRecoversCommit(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	coord := fakecoord.Start(t)
	n := startNode(t, coord.Addr, e)
	n.prepare(t, "tx", "a=+1")
	n.crash()
	if got := xaRecover(t, e.db); !contains(got, ours("tx", e.id)) {
		t.Fatalf("XA RECOVER while the service is down = %v", got)
	}
	coord.SetResolve(arbiterpb.Outcome_OUTCOME_COMMIT, 7)
	n = startNode(t, coord.Addr, e)
	eventually(t, "recovered commit", func() bool { return e.value(t, "a") == 1 })
	e.store = n.store
	e.wantState(t, "tx", participant.StateCommitted)
	if term, _ := n.store.Term(bg); term != 7 {
		t.Fatalf("term = %d, want 7", term)
	}
	if got := e.branches(t); len(got) != 0 {
		t.Fatalf("XA RECOVER = %v after recovery", got)
	}
}
