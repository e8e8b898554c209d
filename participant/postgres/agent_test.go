package postgres_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/postgres"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// node is one participant process: its own pool, store, agent and gRPC
// server, over e's database and schema.
type node struct {
	e     *env
	pool  *pgxpool.Pool
	store *postgres.Store
	agent *participant.Agent[pgx.Tx]
	srv   *grpc.Server
	conn  *grpc.ClientConn
	pc    arbiterpb.ParticipantClient
	logs  *observer.ObservedLogs // the store's warnings and errors
}

// addHandler runs payloads "id=+n;id=+n" as increments; any other element
// is rejected with an error (a no vote).
func (n *node) addHandler(ctx context.Context, tx pgx.Tx, payload []byte) error {
	for _, op := range strings.Split(string(payload), ";") {
		id, inc, ok := strings.Cut(op, "=+")
		delta, err := strconv.ParseInt(inc, 10, 64)
		if !ok || err != nil {
			return errors.New("handler rejected element " + strconv.Quote(op))
		}
		_, err = tx.Exec(ctx, "INSERT INTO "+n.e.accounts()+" VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = accounts.n + EXCLUDED.n", id, delta)
		if err != nil {
			return err
		}
	}
	return nil
}

// startNode starts a participant node of e that talks to the coordinator
// at coordAddr (a fakecoord's Addr or a real one's).
func startNode(t *testing.T, coordAddr string, e *env, dsn string) *node {
	t.Helper()
	core, logs := observer.New(zapcore.WarnLevel)
	n := &node{e: e, pool: newPool(t, dsn), logs: logs}
	var err error
	n.store, err = postgres.Open(bg, n.pool, e.id, postgres.Options{Schema: e.schema,
		Logger: zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))})
	must(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	cfg := participant.DefaultConfig()
	cfg.ID, cfg.Address, cfg.Coordinators = e.id, lis.Addr().String(), []string{coordAddr}
	cfg.Insecure = true // plaintext fake coordinator and server
	cfg.ResolveInterval = 50 * time.Millisecond
	n.agent, err = participant.New(cfg, participant.Resource[pgx.Tx](n.store), n.addHandler, zaptest.NewLogger(t))
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

// crash stops the process: gRPC, agent and pool. Prepared work stays in
// PostgreSQL. Idempotent.
func (n *node) crash() {
	if n.srv == nil {
		return
	}
	_ = n.conn.Close()
	n.srv.Stop()
	n.agent.Close()
	n.pool.Close()
	n.srv = nil
}

func (n *node) prepare(t *testing.T, txID, payload string) *arbiterpb.PrepareResponse {
	t.Helper()
	resp, err := n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: txID, Payload: []byte(payload),
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano(), Term: 1})
	must(t, err)
	return resp
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

func TestAgentCommitAbortAndNoVote(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	n := startNode(t, fakecoord.Start(t).Addr, e, srv.DSN)
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
}

func TestAgentDoServiceDriven(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	coord := fakecoord.Start(t)
	n := startNode(t, coord.Addr, e, srv.DSN)
	ctx := client.WithTxID(bg, "svc1")
	must(t, n.agent.Do(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return n.addHandler(ctx, tx, []byte("a=+7"))
	}))
	if ids := coord.Enlisted(); len(ids) != 1 || ids[0] != "svc1" {
		t.Fatalf("enlisted = %v", ids)
	}
	e.wantState(t, "svc1", participant.StatePrepared)
	if r := n.prepare(t, "svc1", ""); r.GetVote() != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("coordinator Prepare of enlisted work voted %v", r.GetVote())
	}
	must(t, n.decide("svc1", true))
	if a := e.value(t, "a"); a != 7 {
		t.Fatalf("a = %d", a)
	}
	err := n.agent.Do(client.WithTxID(bg, "svc2"), func(context.Context, pgx.Tx) error { return errors.New("nope") })
	if err == nil || err.Error() != "nope" {
		t.Fatalf("Do = %v, want fn's error", err)
	}
	e.wantState(t, "svc2", participant.StateNone)
}

func TestAgentCrashAfterPrepareRecoversCommit(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	coord := fakecoord.Start(t)
	n := startNode(t, coord.Addr, e, srv.DSN)
	n.prepare(t, "tx", "a=+1")
	n.crash()

	coord.SetResolve(arbiterpb.Outcome_OUTCOME_COMMIT, 7)
	n = startNode(t, coord.Addr, e, srv.DSN)
	eventually(t, "recovered commit", func() bool { return e.value(t, "a") == 1 })
	n.e.wantState(t, "tx", participant.StateCommitted)
	if term, _ := n.store.Term(bg); term != 7 {
		t.Fatalf("term = %d, want 7", term)
	}
}
