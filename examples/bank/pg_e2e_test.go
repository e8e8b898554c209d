package bank_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/coordtest"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/postgres"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// pgBank is one bank participant on PostgreSQL served as in cmd/bank: the
// Participant and Bank APIs on one gRPC server with the SDK's server
// interceptor, dialled by a client with the client SDK's interceptor.
type pgBank struct {
	id    string
	pool  *pgxpool.Pool
	store *postgres.Store
	agent *participant.Agent[pgx.Tx]
	bank  bankpb.BankClient
	part  arbiterpb.ParticipantClient
}

func startPGBank(t *testing.T, ctx context.Context, dsn, coordAddr, id string, accounts ...string) *pgBank {
	t.Helper()
	b := &pgBank{id: id}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 32 // as cmd/bank: more than the concurrent local transactions, or COMMIT PREPARED waits for a connection
	if b.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.pool.Close)
	log := zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))
	if b.store, err = postgres.Open(ctx, b.pool, id, postgres.Options{Logger: log}); err != nil {
		t.Fatal(err)
	}
	if err := bank.PGSeed(ctx, b.pool, accounts, 100); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := participant.DefaultConfig()
	cfg.ID, cfg.Address, cfg.Coordinators = id, lis.Addr().String(), []string{coordAddr}
	cfg.Insecure = true // plaintext coordinator and server
	cfg.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(client.UnaryClientInterceptor())}
	if b.agent, err = participant.New(cfg, participant.Resource[pgx.Tx](b.store), bank.PGHandler, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.agent.Close)
	srv := grpc.NewServer(grpc.UnaryInterceptor(client.UnaryServerInterceptor()))
	b.agent.RegisterService(srv)
	bankpb.RegisterBankServer(srv, &bank.PGService{Agent: b.agent, Pool: b.pool})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	b.bank, b.part = bankpb.NewBankClient(conn), arbiterpb.NewParticipantClient(conn)
	if err := b.agent.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// balances reads committed balances through the Bank API.
func (b *pgBank) balances(t *testing.T, ctx context.Context) map[string]int64 {
	t.Helper()
	resp, err := b.bank.Balances(ctx, &bankpb.BalancesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetBalances()
}

// pending lists what this participant has prepared (Inspect over gRPC).
func (b *pgBank) pending(t *testing.T, ctx context.Context) int {
	t.Helper()
	info, err := b.part.Inspect(ctx, &arbiterpb.InspectRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return len(info.GetPrepared())
}

func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

// Service-driven use end to end: an orchestrator begins a transaction at a
// real coordinator, calls PGService.Apply on two bank participants over
// gRPC with the tx ID in metadata (client.UnaryClientInterceptor ->
// client.UnaryServerInterceptor -> Agent.Do, which enlists and prepares),
// then commits: both apply. A second transfer that the orchestrator aborts
// after the Apply calls changes nothing, and nothing stays prepared.
func TestPGServiceDrivenTransferEndToEnd(t *testing.T) {
	srv := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	coord := coordtest.Start(t, zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)), nil)
	b1 := startPGBank(t, ctx, srv.DSN, coord.Addr, "bank1", "bank1-0")
	b2 := startPGBank(t, ctx, srv.DSN, coord.Addr, "bank2", "bank2-0")

	transfer := func(amount int64) string {
		txID, err := coord.Client.Begin(ctx, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		tctx := client.WithTxID(ctx, txID)
		for _, leg := range []struct {
			b    *pgBank
			acct string
			d    int64
		}{{b1, "bank1-0", -amount}, {b2, "bank2-0", amount}} {
			if _, err := leg.b.bank.Apply(tctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{{Account: leg.acct, Delta: leg.d}}}); err != nil {
				t.Fatalf("Apply on %s in %s: %v", leg.b.id, txID, err)
			}
		}
		return txID
	}

	committed := transfer(25)
	if out, err := coord.Client.Commit(ctx, committed); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("Commit(%s) = %v, %v; want COMMIT", committed, out, err)
	}
	pollUntil(t, 10*time.Second, "both legs applied", func() bool {
		return b1.balances(t, ctx)["bank1-0"] == 75 && b2.balances(t, ctx)["bank2-0"] == 125
	})

	aborted := transfer(40)
	if out, err := coord.Client.Abort(ctx, aborted); err != nil || out != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("Abort(%s) = %v, %v; want ABORT", aborted, out, err)
	}
	pollUntil(t, 10*time.Second, "nothing left prepared", func() bool {
		return b1.pending(t, ctx) == 0 && b2.pending(t, ctx) == 0
	})
	if a, b := b1.balances(t, ctx)["bank1-0"], b2.balances(t, ctx)["bank2-0"]; a != 75 || b != 125 {
		t.Fatalf("balances after the aborted transfer: bank1-0=%d bank2-0=%d, want 75 and 125", a, b)
	}
	if _, err := b1.bank.Apply(ctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{{Account: "bank1-0", Delta: 1}}}); err == nil {
		t.Fatal("Apply without a transaction ID succeeded")
	}
}
