package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/arbiter-tx/arbiter/cmd/internal/debugserver"
	"github.com/arbiter-tx/arbiter/cmd/internal/procutil"
	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/tracing"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

type serveFlags struct {
	id, raftAddr, grpcAddr, peers, dataDir, logLevel, pprofAddr, httpAddr string
	coord                                                                 coordinator.Config
	raft                                                                  raftlog.Config
	tls                                                                   tlsFlags
}

func serveCmd() *cobra.Command {
	f := serveFlags{coord: coordinator.DefaultConfig(), raft: raftlog.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run one coordinator node",
		Long: `Run one coordinator node of a three-node cluster. Start each node with the
same --peers list; the first start bootstraps the cluster, later starts reuse
the state in --data-dir. Every flag can also be set as ARBITER_<FLAG>
(for example ARBITER_DATA_DIR).`,
		Example: `  arbiter serve --id n1 --raft-addr 127.0.0.1:7001 --grpc-addr 127.0.0.1:8001 \
    --data-dir /var/lib/arbiter/n1 \
    --peers n1=127.0.0.1:7001/127.0.0.1:8001,n2=127.0.0.1:7002/127.0.0.1:8002,n3=127.0.0.1:7003/127.0.0.1:8003`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd.Flags()); err != nil {
				return err
			}
			return serve(f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.id, "id", "", "this node's ID; must appear in --peers (required)")
	fs.StringVar(&f.raftAddr, "raft-addr", "", "host:port for Raft traffic between coordinators (default: this node's address in --peers)")
	fs.StringVar(&f.raft.AdvertiseAddr, "raft-advertise", "", "host:port other coordinators dial for Raft, when it differs from --raft-addr (NAT, a proxy); must be this node's address in --peers")
	fs.StringVar(&f.grpcAddr, "grpc-addr", "", "host:port serving the Coordinator gRPC API to clients and participants (default: from --peers)")
	fs.StringVar(&f.peers, "peers", "", "every coordinator as ID=RAFT_ADDR/GRPC_ADDR, comma-separated (required)")
	fs.BoolVar(&f.raft.Join, "join", false, "never bootstrap, even with an empty --data-dir: wait for an operator to run 'arbiter members add' on the cluster (--peers then need not list this node; give --raft-addr and --grpc-addr)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for this node's Raft log, stable store and snapshots (required)")
	fs.StringVar(&f.raft.LogStore, "log-store", f.raft.LogStore, "the Raft log and stable store in --data-dir: boltdb (raft.db; two fdatasyncs per append) or wal (wal/, hashicorp/raft-wal; one fsync per append). A data dir made by the other store is refused at start")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.httpAddr, "http-addr", "", "host:port serving Prometheus /metrics and the read-only status page at / over plaintext HTTP without authentication (off when empty; a bare :PORT binds 127.0.0.1 only, name a host such as 0.0.0.0:PORT to expose it)")
	fs.StringVar(&f.pprofAddr, "pprof-addr", "", "host:port serving Go's profiler at /debug/pprof, unauthenticated (off when empty; a bare :PORT binds 127.0.0.1 only)")
	fs.DurationVar(&f.coord.DefaultTimeout, "default-timeout", f.coord.DefaultTimeout, "transaction lifetime when Begin asks for none")
	fs.DurationVar(&f.coord.MinTimeout, "min-timeout", f.coord.MinTimeout, "shortest transaction lifetime Begin accepts; shorter deadlines abort before participants can prepare (INVALID_ARGUMENT)")
	fs.DurationVar(&f.coord.MaxTimeout, "max-timeout", f.coord.MaxTimeout, "longest transaction lifetime Begin (or a one-shot Commit) accepts; must be less than --uniqueness-window")
	fs.DurationVar(&f.coord.UniquenessWindow, "uniqueness-window", f.coord.UniquenessWindow, "how long a decided transaction ID is remembered after it finished, so it is never decided again, and the oldest a one-shot ID (client.NewTxID carries its creation time) may be: an older one is refused with FAILED_PRECONDITION instead of running again (participants learn the window when they register); must exceed --max-timeout (the margin covers clock skew between clients and coordinators)")
	fs.IntVar(&f.coord.MaxPayloadBytes, "max-payload-bytes", f.coord.MaxPayloadBytes, "largest branch payload accepted")
	fs.IntVar(&f.coord.MaxBranches, "max-branches", f.coord.MaxBranches, "most participants in one transaction")
	fs.IntVar(&f.coord.MaxInFlight, "max-in-flight", f.coord.MaxInFlight, "most undecided transactions on the leader; past it Begin fails with RESOURCE_EXHAUSTED (0: no limit)")
	fs.IntVar(&f.coord.MaxMessageBytes, "max-message-bytes", f.coord.MaxMessageBytes, "largest gRPC request the node accepts (bigger ones fail with RESOURCE_EXHAUSTED)")
	fs.DurationVar(&f.coord.ProbeInterval, "probe-interval", f.coord.ProbeInterval, "how often every node health-checks each registered participant")
	fs.DurationVar(&f.coord.ProbeTimeout, "probe-timeout", f.coord.ProbeTimeout, "bound on one participant health check; keep it well under the Raft election timeout")
	fs.IntVar(&f.coord.ProbeFailures, "probe-failures", f.coord.ProbeFailures, "consecutive timed-out checks that mark a participant down (a refused connection or NOT_SERVING does at once); while down, a Prepare to it is answered as a no vote at once")
	fs.IntVar(&f.coord.TransferRounds, "transfer-rounds", f.coord.TransferRounds, "consecutive rounds (one per probe period) in which a follower, probed afresh, reached more participants than this leader before it hands leadership to that follower (0: never)")
	fs.DurationVar(&f.coord.TransferCooldown, "transfer-cooldown", f.coord.TransferCooldown, "least time between two leadership transfers a node starts")
	fs.IntVar(&f.coord.WatchBuffer, "watch-buffer", f.coord.WatchBuffer, "responses (of up to 128 decisions) one Watch stream may have waiting for its client")
	fs.DurationVar(&f.coord.WatchStall, "watch-stall", f.coord.WatchStall, "how long a Watch stream's buffer may stay full before the watcher is cut off (RESOURCE_EXHAUSTED naming where to resume)")
	f.tls.register(fs, "arbiter://coordinator/<id>, also presented to peers for Raft")
	fs.DurationVar(&f.raft.HeartbeatTimeout, "heartbeat-timeout", f.raft.HeartbeatTimeout, "Raft heartbeat timeout")
	fs.DurationVar(&f.raft.ElectionTimeout, "election-timeout", f.raft.ElectionTimeout, "Raft election timeout")
	return cmd
}

func serve(f serveFlags) error {
	log, err := procutil.NewLogger(f.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if err := f.fill(); err != nil {
		return err
	}
	if err := f.coord.Validate(); err != nil { // before anything opens: a bad flag combination changes nothing
		return err
	}
	debugserver.ServePprof(f.pprofAddr, log)
	shutdownTracing, err := tracing.Setup(context.Background(), "arbiter-coordinator", log)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer tracing.Flush(shutdownTracing, log)
	src, err := f.tls.load(log)
	if err != nil {
		return err
	}
	f.raft.TLS = src
	node, err := raftlog.Open(f.raft, log)
	if err != nil {
		return err
	}
	defer func() { _ = node.Close() }()
	f.coord.DialOptions = []grpc.DialOption{security.DialOption(src), tracing.DialOptionIfOn()}
	if err := withFailpoints(&f.coord, log); err != nil {
		return err
	}
	reg := procutil.NewRegistry()
	f.coord.Metrics = coordinator.NewMetrics(reg, node)
	co, err := coordinator.New(f.coord, node, log)
	if err != nil {
		return err
	}
	co.Start()
	defer co.Close()
	return serveGRPC(f, co, node, src, reg, log)
}

// fill derives the Raft config and the addresses from the flags.
func (f *serveFlags) fill() error {
	if f.id == "" || f.peers == "" || f.dataDir == "" {
		return fmt.Errorf("--id, --peers and --data-dir are required (see arbiter serve --help)")
	}
	if !slices.Contains(raftlog.LogStores(), f.raft.LogStore) {
		return fmt.Errorf("--log-store %q: want one of %s", f.raft.LogStore, strings.Join(raftlog.LogStores(), ", "))
	}
	peers, grpcAddrs, err := parseMembers(f.peers)
	if err != nil {
		return err
	}
	f.coord.Members = grpcAddrs
	if f.grpcAddr == "" {
		f.grpcAddr = grpcAddrs[f.id]
	}
	for _, p := range peers {
		if p.ID == f.id && f.raftAddr == "" {
			f.raftAddr = p.Address
		}
	}
	if f.raftAddr == "" || f.grpcAddr == "" {
		return fmt.Errorf("node %q is not in --peers: give --raft-addr and --grpc-addr (and --join to be added to a running cluster)", f.id)
	}
	f.coord.Members[f.id] = f.grpcAddr
	f.raft.ID, f.raft.BindAddr, f.raft.DataDir, f.raft.Peers = f.id, f.raftAddr, f.dataDir, peers
	return f.raft.Validate()
}

func serveGRPC(f serveFlags, co *coordinator.Coordinator, node *raftlog.Node, src *security.Source, reg *prometheus.Registry, log *zap.Logger) error {
	lis, err := net.Listen("tcp", f.grpcAddr)
	if err != nil {
		return fmt.Errorf("listen on --grpc-addr %s: %w", f.grpcAddr, err)
	}
	opts := append(security.ServerOption(src), co.ServerOptions()...)
	srv := grpc.NewServer(append(opts, tracing.ServerOptionIfOn())...)
	arbiterpb.RegisterCoordinatorServer(srv, co)
	arbiterpb.RegisterAdminServer(srv, co.AdminServer())
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv) // grpcurl can list and call the API
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	watch(ctx, src, log)
	go trackHealth(ctx, hs, node, co)
	serveHTTP(ctx, f.httpAddr, reg, co, log)
	go func() {
		<-ctx.Done()
		log.Info("shutting down")
		co.EndWatches() // GracefulStop waits for streams: end the watches first
		srv.GracefulStop()
	}()
	log.Info("serving", zap.String("grpc-addr", lis.Addr().String()))
	return srv.Serve(lis)
}

// trackHealth reports SERVING while the node knows a leader, is caught up
// and, if it is a follower, reaches the leader to forward calls
// (coordinator.LeaderUnreachable).
func trackHealth(ctx context.Context, hs *health.Server, node *raftlog.Node, co *coordinator.Coordinator) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for ctx.Err() == nil {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if _, cut := co.LeaderUnreachable(); healthy(node.Stats()) && !cut {
			st = healthpb.HealthCheckResponse_SERVING
		}
		hs.SetServingStatus("", st)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// healthy: the node knows a leader and has applied its log up to the
// commit index it knows, so what it serves is current.
func healthy(st raftlog.Stats) bool {
	return st.LeaderID != "" && st.AppliedIndex >= st.CommitIndex
}
