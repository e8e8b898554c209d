package runner

import (
	"context"
	"fmt"
	"google.golang.org/grpc"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/broker"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/jepsen/netns"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Build compiles the binaries the suite runs, with the crash points and
// broken modes compiled in.
func Build(ctx context.Context, binDir string) error {
	return localcluster.Build(ctx, binDir, "failpoints")
}

// Run executes one test and returns its record. Checking and reporting are
// the caller's (see Check and package report).
func Run(ctx context.Context, cfg Config) (*history.Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e, err := setup(cfg)
	if err != nil {
		return nil, err
	}
	defer e.teardown()
	if err := e.start(ctx); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x2bc))
	if err := e.drive(ctx, rng); err != nil {
		return nil, err
	}
	final, err := e.finish(ctx)
	if err != nil {
		return nil, err
	}
	ops, faults := e.rec.snapshot()
	return &history.Run{Name: cfg.Name, Workload: cfg.Workload, Nemeses: cfg.Nemeses, Seed: cfg.Seed,
		Duration: cfg.Duration, Broken: cfg.Broken, LogStore: cfg.LogStore, Ops: ops, Faults: faults, Final: *final,
		ClientRetries: e.retries.Load(), StartedAt: e.rec.start}, nil
}

func setup(cfg Config) (e *env, err error) {
	e = &env{cfg: cfg, rec: newRecorder(), down: map[string]bool{}}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	opts := localcluster.Options{Dir: filepath.Join(cfg.Dir, "nodes"), BinDir: cfg.BinDir, Accounts: cfg.Accounts,
		Opening: cfg.Opening, LogLevel: "info", CoordArgs: cfg.coordArgs(), LogStore: cfg.LogStore}
	if err := e.setupNet(&opts); err != nil {
		return nil, err
	}
	e.newMesh()
	opts.Expose = e.mesh.Expose
	opts.CoordEnv, opts.BankEnv = processEnv(cfg)
	if err := e.startDatabases(); err != nil {
		e.teardown()
		return nil, err
	}
	opts.BankArgs = e.bankArgs
	if cfg.Workload == WorkloadEvents {
		if e.broker, err = broker.Start(filepath.Join(cfg.Dir, "nats")); err != nil {
			e.teardown()
			return nil, err
		}
		opts.OutboxNATS = e.broker.URL()
	}
	c, err := localcluster.New(opts)
	if err != nil {
		e.teardown()
		return nil, err
	}
	e.cluster = c
	e.procs.Store(c)
	return e, nil
}

// setupNet creates network namespaces when the run asks for them (see
// Config.NetMode); otherwise every process stays on loopback and partitions
// are made by the mesh of proxies alone.
func (e *env) setupNet(opts *localcluster.Options) error {
	mode, err := e.cfg.NetMode()
	if err != nil || mode != NetNamespaces {
		return err
	}
	sweepDeadRuns()
	n, err := netns.Create(netPrefix(), []string{"n1", "n2", "n3", "bank1", "bank2", "bank3"})
	if err != nil {
		return err
	}
	e.net, opts.Net = n, nsNetwork{n}
	return nil
}

// bankArgs are one bank's extra arguments: its database server, if any,
// and, under a short uniqueness window, an outcome retention longer than
// any run (the banks learn the window at Register and would prune every
// outcome record older than it, which the checkers read at the end).
func (e *env) bankArgs(bank string) []string {
	var args []string
	if e.db != nil {
		args = e.db.BankArgs(bank)
	}
	if e.cfg.UniquenessWindow > 0 {
		args = append(args, "--outcome-retention", outcomeRetention.String())
	}
	return args
}

// outcomeRetention keeps every outcome record a run makes until the
// checkers have read it.
const outcomeRetention = time.Hour

// processEnv arms crash points and the broken mode through environment.
func processEnv(cfg Config) (coord, bank []string) {
	if cfg.Broken != "" {
		coord = append(coord, coordinator.BrokenEnvVar+"="+cfg.Broken)
	}
	if hasCrashPoints(cfg) {
		coord = append(coord, failpoint.EnvVar+"="+cfg.CoordFailpoints)
		bank = append(bank, failpoint.EnvVar+"="+cfg.BankFailpoints)
	}
	return coord, bank
}

func (e *env) start(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(e.cfg.Dir, "nodes"), 0o755); err != nil {
		return err
	}
	if err := e.cluster.Start(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.waitReady(wctx); err != nil {
		return err
	}
	creds, err := e.cluster.DialOption("jepsen")
	if err != nil {
		return err
	}
	cli, err := client.New(client.Config{Addresses: e.cluster.DialCoordAddrs(), ClientID: "jepsen", AttemptTimeout: 2 * time.Second,
		DialOptions: []grpc.DialOption{creds, grpc.WithChainUnaryInterceptor(e.rec.countAttempts)}, OnRetry: func(error) { e.retries.Add(1) }})
	if err != nil {
		return err
	}
	e.cli = cli
	return e.dialBanks()
}

// waitReady waits for a leader that knows every bank. If none comes, the
// error names the banks the leader does not know, whether each process
// still runs, and the last line of its log.
func (e *env) waitReady(ctx context.Context) error {
	for {
		_, info, err := e.cluster.Leader(ctx)
		if err == nil && len(info.GetParticipants()) >= len(e.cluster.Banks)+outboxes(e.cluster) {
			return nil
		}
		if !backoff.Sleep(ctx, 100*time.Millisecond) {
			return fmt.Errorf("cluster not ready (leader with every bank registered): %v%s", err, e.missingBanks(info))
		}
	}
}

// missingBanks describes the banks info (the leader's view; nil if none)
// does not list.
func (e *env) missingBanks(info *arbiterpb.ClusterResponse) string {
	known := info.GetParticipants() // participant ID -> address
	var b strings.Builder
	for _, p := range e.cluster.Banks {
		if _, ok := known[p.Name]; !ok {
			fmt.Fprintf(&b, "; %s not registered (running %v, log %s: %s)", p.Name, p.Running(), p.LogPath, lastLine(p.LogPath))
		}
	}
	return b.String()
}

// lastLine returns the last non-empty line of the file at path (at most
// 300 bytes of it), or why it cannot.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	line := lines[len(lines)-1]
	if len(line) > 300 {
		line = line[:300]
	}
	return line
}

// drive runs the workers and the nemesis schedule for the duration.
func (e *env) drive(ctx context.Context, rng *rand.Rand) error {
	var race *raceShared
	if e.cfg.Workload == WorkloadRace {
		var err error
		if race, err = newRaceShared(e); err != nil {
			return err
		}
		defer race.close()
	}
	wctx, cancel := context.WithTimeout(ctx, e.cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range e.cfg.Concurrency {
		wrng := rand.New(rand.NewPCG(uint64(e.cfg.Seed), uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch e.cfg.Workload {
			case WorkloadStatus:
				(&statusWorker{id: i, env: e, rng: wrng}).loop(wctx)
			case WorkloadRace:
				(&raceWorker{id: i, env: e, rng: wrng, race: race}).loop(wctx)
			default: // bank, transfers (its transfers alone), and events (with a third branch)
				(&bankWorker{id: i, env: e, rng: wrng}).loop(wctx)
			}
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); e.schedule(wctx, rng) }()
	go func() { defer wg.Done(); e.ticker(wctx) }()
	if hasCrashPoints(e.cfg) {
		wg.Add(1)
		go func() { defer wg.Done(); e.supervise(wctx) }()
	}
	wg.Wait()
	return nil
}

func (e *env) ticker(ctx context.Context) {
	for backoff.Sleep(ctx, 3*time.Second) {
		e.progress("running")
	}
}

func (e *env) teardown() {
	if e.cluster != nil {
		e.cluster.Stop()
	}
	e.close()
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			e.progress("stopping the banks' database servers: " + err.Error())
		}
	}
	if e.net != nil {
		_ = e.net.Close()
	}
	if e.broker != nil {
		e.broker.Stop()
	}
}

// outboxes is 1 when the cluster has an outbox participant, else 0.
func outboxes(c *localcluster.Cluster) int {
	if c.Outbox != nil {
		return 1
	}
	return 0
}
