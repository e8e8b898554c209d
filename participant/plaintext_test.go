package participant_test

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A request over Config.MaxMessageBytes is refused with RESOURCE_EXHAUSTED
// before any handler runs; the agent keeps serving.
func TestAgentRefusesOversizedMessage(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir(), func(c *participant.Config) { c.MaxMessageBytes = 4096 })
	huge := bytes.Repeat([]byte("k=v;"), 2048)
	_, err := n.pc.Prepare(ctxShort(t), &arbiterpb.PrepareRequest{TxId: "big", Payload: huge, Term: 1,
		DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max") {
		t.Fatalf("oversized Prepare: %v, want RESOURCE_EXHAUSTED naming the limit", err)
	}
	if n.calls.Load() != 0 || n.state(t, "big") != participant.StateNone {
		t.Fatal("an oversized request reached the handler or the store")
	}
	if v := n.prepare(t, "small", "k=v").GetVote(); v != arbiterpb.Vote_VOTE_YES {
		t.Fatalf("a normal Prepare after the oversized one: %v", v)
	}
}

// plainAgent serves an agent (not started: no coordinator needed) on a
// plaintext gRPC server and returns a plaintext client for it.
func plainAgent(t *testing.T, cfg participant.Config, log *zap.Logger) arbiterpb.ParticipantClient {
	t.Helper()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "p.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ID, cfg.Address, cfg.Coordinators = "p1", lis.Addr().String(), []string{"127.0.0.1:1"}
	agent, err := participant.New(cfg, participant.Resource[*embedded.Tx](store), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(agent.Close)
	srv := grpc.NewServer() // plaintext on purpose: not agent.ServerOptions(), which would add TLS
	agent.RegisterService(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return arbiterpb.NewParticipantClient(cc)
}

// With Insecure the agent warns at New and serves plaintext callers.
func TestInsecureAgentWarnsAndServesPlaintext(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	cfg := participant.DefaultConfig()
	cfg.Insecure = true
	pc := plainAgent(t, cfg, zap.New(core))
	if logs.FilterMessageSnippet("WITHOUT TLS").Len() != 1 {
		t.Fatalf("want one WITHOUT TLS warning, logged: %v", logs.All())
	}
	if _, err := pc.Inspect(ctxShort(t), &arbiterpb.InspectRequest{}); err != nil {
		t.Fatalf("Inspect over plaintext with Insecure: %v", err)
	}
}

// An agent configured for TLS but served on a plaintext server refuses
// every call instead of accepting them unauthenticated.
func TestTLSAgentOnPlaintextServerRefusesCalls(t *testing.T) {
	cfg := participant.DefaultConfig()
	cfg.TLS = sectest.New(t).Source(security.RoleParticipant, "p1")
	core, logs := observer.New(zapcore.WarnLevel)
	pc := plainAgent(t, cfg, zap.New(core))
	ctx := ctxShort(t)
	_, err := pc.Prepare(ctx, &arbiterpb.PrepareRequest{TxId: "t1", Payload: []byte("k=v"), Term: 1})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "over plaintext") {
		t.Fatalf("Prepare over plaintext: %v, want UNAUTHENTICATED", err)
	}
	_, err = pc.Commit(ctx, &arbiterpb.DecisionRequest{TxId: "t1", Term: 1})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Commit over plaintext: %v, want UNAUTHENTICATED", err)
	}
	if logs.FilterMessageSnippet("WITHOUT TLS").Len() != 0 {
		t.Fatal("a TLS agent warned about running without TLS")
	}
}
