package coordinator_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// testParticipant is a bank participant agent over the embedded store,
// served on its own loopback port; it can be killed and restarted on the
// same data directory and port.
type testParticipant struct {
	t     *testing.T
	c     *testCluster
	id    string
	addr  string
	dir   string
	store *embedded.Store
	agent *participant.Agent[*embedded.Tx]
	srv   *grpc.Server
	up    bool
	calls atomic.Int64 // handler executions
	delay atomic.Int64 // nanoseconds the handler sleeps first
	// batches counts PrepareBatch calls received (phase 1 batched).
	batches atomic.Int64
	// failpoint, when set before start, is the agent's crash-point hook.
	failpoint func(p failpoint.Point)
	// health is the standard gRPC health service on the participant's
	// server (SERVING; a test may set NOT_SERVING), and hang, while set,
	// holds every call to the server until its caller gives up.
	health *health.Server
	hang   atomic.Bool
}

// addParticipant starts a bank participant holding account "<id>-a" with
// balance 100, and waits until the leader knows it.
func (c *testCluster) addParticipant(id string) *testParticipant {
	c.t.Helper()
	p := &testParticipant{t: c.t, c: c, id: id, addr: freeAddr(c.t), dir: filepath.Join(c.t.TempDir(), id)}
	p.start()
	if err := bank.Seed(context.Background(), p.store, []string{id + "-a"}, 100); err != nil {
		c.t.Fatal(err)
	}
	c.parts[id] = p
	waitFor(c.t, 10*time.Second, id+" registered", func() bool {
		leader := c.waitLeader()
		_, ok := leader.node.FSM().Participant(id)
		return ok
	})
	return p
}

func (p *testParticipant) start() {
	p.t.Helper()
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(p.dir, "store.db"), embedded.Options{})
	if err != nil {
		p.t.Fatal(err)
	}
	cfg := participant.DefaultConfig()
	cfg.ID, cfg.Address, cfg.Coordinators = p.id, p.addr, p.c.coordAddrs()
	cfg.ResolveInterval = 200 * time.Millisecond
	cfg.TLS = p.c.pki.Source(security.RoleParticipant, p.id)
	cfg.Failpoint = p.failpoint
	log := zaptest.NewLogger(p.t, zaptest.Level(testLogLevel())).With(zap.String("participant", p.id))
	agent, err := participant.New(cfg, st, p.handler, log)
	if err != nil {
		p.t.Fatal(err)
	}
	count := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == arbiterpb.Participant_PrepareBatch_FullMethodName {
			p.batches.Add(1)
		}
		if p.hang.Load() {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return h(ctx, req)
	}
	srv := grpc.NewServer(append(security.ServerOption(cfg.TLS), grpc.ChainUnaryInterceptor(client.UnaryServerInterceptor(), count))...)
	agent.RegisterService(srv)
	p.health = health.NewServer()
	healthpb.RegisterHealthServer(srv, p.health)
	bankpb.RegisterBankServer(srv, &bank.Service{Agent: agent, Store: st})
	lis := listen(p.t, p.addr)
	go func() { _ = srv.Serve(lis) }()
	if err := agent.Start(context.Background()); err != nil {
		p.t.Fatal(err)
	}
	p.store, p.agent, p.srv, p.up = st, agent, srv, true
}

func (p *testParticipant) handler(ctx context.Context, tx *embedded.Tx, payload []byte) error {
	p.calls.Add(1)
	if d := time.Duration(p.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return bank.Handler(ctx, tx, payload)
}

// kill stops the participant abruptly (server first, so nothing more is
// acknowledged), then closes its store as a crash would leave it: whatever
// was fsynced is what a restart sees.
func (p *testParticipant) kill() {
	if !p.up {
		return
	}
	p.up = false
	p.srv.Stop()
	p.agent.Close()
	_ = p.store.Close()
}

func (p *testParticipant) restart() {
	p.kill()
	p.start()
}

func (p *testParticipant) balance() int64 {
	p.t.Helper()
	v, ok, err := p.store.Read(p.id + "-a")
	if err != nil || !ok {
		p.t.Fatalf("%s: read balance: ok=%v err=%v", p.id, ok, err)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

func (p *testParticipant) prepared() int {
	p.t.Helper()
	list, err := p.store.Prepared(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	return len(list)
}

func (p *testParticipant) state(txID string) participant.State {
	p.t.Helper()
	st, err := p.store.State(context.Background(), txID)
	if err != nil {
		p.t.Fatal(err)
	}
	return st
}

// branch moves delta into this participant's account.
func (p *testParticipant) branch(delta int64) *arbiterpb.Branch {
	return &arbiterpb.Branch{ParticipantId: p.id, Payload: bank.EncodePayload([]*bankpb.Op{{Account: p.id + "-a", Delta: delta}}, nil)}
}

func freeAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
}
