package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/cmd/internal/debugserver"
	"github.com/arbiter-tx/arbiter/cmd/internal/procutil"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/tracing"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
)

type flags struct {
	id, listen, advertise, coordinators, dataDir, logLevel, pprofAddr, httpAddr string
	accounts                                                                    int
	opening                                                                     int64
	retention, pruneInterval                                                    time.Duration
	tls                                                                         tlsFlags
	pg                                                                          pgFlags
	my                                                                          myFlags
	outbox                                                                      outboxFlags
}

func main() {
	var f flags
	flag.StringVar(&f.id, "id", "", "participant ID registered with the coordinators (required)")
	flag.StringVar(&f.listen, "listen", "127.0.0.1:9001", "host:port serving the Participant and Bank gRPC APIs")
	flag.StringVar(&f.advertise, "advertise", "", "address the coordinators dial (default: --listen)")
	flag.StringVar(&f.coordinators, "coordinators", "127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003", "coordinator gRPC addresses, comma-separated")
	flag.StringVar(&f.dataDir, "data-dir", "", "directory for the embedded store (required without --postgres or --mysql)")
	flag.IntVar(&f.accounts, "accounts", 10, "accounts to create on first start, named <id>-<n>")
	flag.Int64Var(&f.opening, "opening-balance", 1000, "opening balance of each new account")
	flag.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	flag.StringVar(&f.httpAddr, "http-addr", "", "host:port serving Prometheus /metrics (off when empty; :PORT binds 127.0.0.1 only)")
	flag.StringVar(&f.pprofAddr, "pprof-addr", "", "host:port serving Go's profiler at /debug/pprof (off when empty; :PORT binds 127.0.0.1 only)")
	flag.DurationVar(&f.retention, "outcome-retention", 0, "keep each transaction's outcome record (commit marker, abort tombstone) this long after its decision; 0 = the coordinators' uniqueness window, learnt at registration, which is also the floor (a shorter value is raised to it). Longer covers a phase-2 retry that arrives later (e.g. after a long partition): past the retention it finds no record")
	flag.DurationVar(&f.pruneInterval, "outcome-gc-interval", time.Minute, "how often outcome records older than the retention are deleted (0 keeps them forever)")
	f.tls.register()
	f.pg.register()
	f.my.register()
	f.outbox.register()
	flag.Parse()
	if err := run(f); err != nil {
		fmt.Fprintln(os.Stderr, "bank:", err)
		os.Exit(1)
	}
}

func run(f flags) error {
	if f.id == "" || (f.dataDir == "" && f.pg.dsn == "" && f.my.dsn == "") {
		return fmt.Errorf("--id and --data-dir (or --postgres, or --mysql) are required (see bank --help)")
	}
	if f.pg.dsn != "" && f.my.dsn != "" {
		return fmt.Errorf("--postgres and --mysql both set: choose one database")
	}
	if f.retention < 0 || f.pruneInterval < 0 {
		return fmt.Errorf("--outcome-retention (%v) and --outcome-gc-interval (%v) must not be negative", f.retention, f.pruneInterval)
	}
	log, err := procutil.NewLogger(f.logLevel)
	if err != nil {
		return err
	}
	// "bank", not "participant-id": the participant SDK and the SQL adapters
	// add that key to their own lines, and zap does not dedupe keys.
	log = log.With(zap.String("bank", f.id))
	debugserver.ServePprof(f.pprofAddr, log)
	shutdownTracing, err := tracing.Setup(context.Background(), "arbiter-bank-"+f.id, log)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer tracing.Flush(shutdownTracing, log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.pg.dsn != "" {
		return runPostgres(ctx, f, log)
	}
	if f.my.dsn != "" {
		return runMySQL(ctx, f, log)
	}
	if f.outbox.url != "" {
		return runOutbox(ctx, f, log)
	}
	if err := os.MkdirAll(f.dataDir, 0o755); err != nil {
		return err
	}
	st, err := embedded.Open(filepath.Join(f.dataDir, "bank.db"), embedded.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	if err := bank.Seed(ctx, st, accountNames(f.id, f.accounts), f.opening); err != nil {
		return fmt.Errorf("seed accounts: %w", err)
	}
	return serve(ctx, f, log, st, bank.Handler, func(a *participant.Agent[*embedded.Tx]) bankpb.BankServer {
		return &bank.Service{Agent: a, Store: st}
	})
}

// serve runs the participant agent over res and the gRPC server with the
// Participant API and the Bank API (made by svc; none when svc is nil)
// until ctx ends.
func serve[T any](ctx context.Context, f flags, log *zap.Logger, res participant.Resource[T], h participant.Handler[T],
	svc func(*participant.Agent[T]) bankpb.BankServer) error {
	cfg := participant.DefaultConfig()
	cfg.ID, cfg.Address = f.id, f.advertise
	if cfg.Address == "" {
		cfg.Address = f.listen
	}
	cfg.Coordinators = strings.Split(f.coordinators, ",")
	cfg.OutcomeRetention, cfg.OutcomePruneInterval = f.retention, f.pruneInterval
	src, err := f.tls.load(log)
	if err != nil {
		return err
	}
	cfg.TLS, cfg.Insecure, cfg.MaxMessageBytes = src, src == nil, f.tls.maxMessageBytes
	// The defaults (participant.Config.dialOptions) plus tracing: a non-nil
	// DialOptions replaces them, so restate the credentials and interceptor.
	cfg.DialOptions = []grpc.DialOption{
		security.DialOption(src),
		grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()),
		tracing.DialOptionIfOn(),
	}
	if src != nil {
		src.WatchSIGHUP(ctx, log)
	}
	if err := withFailpoints(&cfg, log); err != nil {
		return err
	}
	agent, err := participant.New(cfg, res, h, log)
	if err != nil {
		return err
	}
	defer agent.Close()
	if err := serveMetrics(ctx, f.httpAddr, agent, log); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on --listen %s: %w", f.listen, err)
	}
	opts := agent.ServerOptions() // mutual TLS over cfg.TLS, size limit
	srv := grpc.NewServer(append(opts, grpc.UnaryInterceptor(client.UnaryServerInterceptor()), tracing.ServerOptionIfOn())...)
	agent.RegisterService(srv)
	if svc != nil {
		bankpb.RegisterBankServer(srv, svc(agent))
	}
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	go func() {
		if err := agent.Start(ctx); err != nil && ctx.Err() == nil {
			log.Error("agent start failed", zap.Error(err))
		}
	}()
	log.Info("serving", zap.String("listen", lis.Addr().String()))
	return srv.Serve(lis)
}

func accountNames(id string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", id, i)
	}
	return out
}
