package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

type flags struct {
	workload, nemeses, matrix, out, broken, commitMode, net, logStore string
	duration, interval, hold, window                                  time.Duration
	concurrency                                                       int
	seed                                                              int64
	postgres, mysql                                                   bool
}

func main() {
	var f flags
	flag.StringVar(&f.workload, "workload", "bank", "workload: bank (transfers and reads), status (Commit, Abort, Status and Resolve racing on one ID) race (every call raced against another on one ID: Abort against one-shots and Commit, late service-driven enlists against Commit, one-shot retries with other branches or past the uniqueness window, early Resolve by members, empty and 40,000-byte account names) events (bank transfers whose third branch publishes transfer.completed through the outbox participant to NATS JetStream; checked against the stream) or transfers (the bank workload's transfers alone, each one Commit: with --commit-mode one-shot, the SDK's Run; no reads, no service-driven joins)")
	flag.StringVar(&f.nemeses, "nemesis", "kill-leader", "comma-separated nemeses ("+strings.Join(runner.Nemeses(), ", ")+"), or none")
	flag.StringVar(&f.matrix, "matrix", "", "run a predefined matrix instead: short (about 5 min: every nemesis, race in every commit mode) or standard (about 20 min, its last cells with the banks on PostgreSQL, then on MariaDB)")
	flag.DurationVar(&f.duration, "duration", 30*time.Second, "workload duration of each run")
	flag.DurationVar(&f.interval, "interval", 5*time.Second, "time between fault starts")
	flag.DurationVar(&f.hold, "hold", 0, "how long each fault holds (0: half the interval, at least 1.5s; a matrix cell may set its own)")
	flag.IntVar(&f.concurrency, "concurrency", 6, "client workers")
	flag.Int64Var(&f.seed, "seed", time.Now().UnixNano()%100000, "seed of the fault schedule and the workload")
	flag.StringVar(&f.out, "out", "jepsen-reports", "directory for reports and node data")
	flag.StringVar(&f.broken, "broken", "", "run a deliberately broken coordinator (commit-despite-no, ack-before-decide, second-decision, enlist-into-commit): the checkers must report anomalies")
	flag.DurationVar(&f.window, "uniqueness-window", 0, "the coordinators' --uniqueness-window (their --max-timeout 2s shorter); 0: "+runner.RaceWindow.String()+" for the race workload, whose one-shots are retried past it within the run, else the coordinators' default")
	flag.StringVar(&f.commitMode, "commit-mode", "standard", "how workers commit: standard (Begin, then Commit), one-shot (transfers in one Commit call, no Begin) or parallel (parallel commit)")
	flag.BoolVar(&f.postgres, "postgres", false, "run the banks on PostgreSQL, one server per bank started by the suite (needs the PostgreSQL server binaries)")
	flag.BoolVar(&f.mysql, "mysql", false, "run the banks on MariaDB/MySQL over XA, one server per bank started by the suite (needs the MariaDB server binaries: apt-get install mariadb-server)")
	flag.StringVar(&f.net, "net", "", "how partitions, latency and loss are made: netns (root: a network namespace per process, iptables DROP plus a proxy per link), proxy (a userspace proxy per link on loopback, no root needed) or empty: $"+runner.NetEnv+" if set, else netns when available")
	flag.StringVar(&f.logStore, "log-store", "", "the coordinators' Raft log store: boltdb or wal (arbiter serve --log-store); empty: arbiter serve's default")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jepsen:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) (bool, error) {
	plans, err := plan(f)
	if err != nil {
		return false, err
	}
	suite := &suite{out: f.out}
	if err := suite.build(ctx); err != nil {
		return false, err
	}
	for i, p := range plans {
		fmt.Printf("jepsen: run %d/%d %s: workload %s, nemeses %v, %v, seed %d, log store %s\n", i+1, len(plans), p.Name, p.Workload, p.Nemeses, p.Duration, p.Seed, or(p.LogStore, "default"))
		if err := suite.run(ctx, p); err != nil {
			if skipPostgres(f, p, err) {
				fmt.Printf("jepsen: SKIPPED %s: %v (install PostgreSQL, or set ARBITER_REQUIRE_POSTGRES=1 to fail)\n", p.Name, err)
				continue
			}
			if skipMySQL(f, p, err) {
				fmt.Printf("jepsen: SKIPPED %s: %v (install mariadb-server, or set ARBITER_REQUIRE_MYSQL=1 to fail)\n", p.Name, err)
				continue
			}
			return false, fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return suite.finish(), nil
}

// skipPostgres: a matrix's PostgreSQL cell is skipped when no server can
// start, unless --postgres asked for PostgreSQL or ARBITER_REQUIRE_POSTGRES=1.
func skipPostgres(f flags, p runner.Config, err error) bool {
	return p.Postgres && !f.postgres && errors.Is(err, runner.ErrNoPostgres) && os.Getenv("ARBITER_REQUIRE_POSTGRES") != "1"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// skipMySQL: a matrix's MariaDB cell is skipped when no server can start,
// unless --mysql asked for MariaDB or ARBITER_REQUIRE_MYSQL=1.
func skipMySQL(f flags, p runner.Config, err error) bool {
	return p.MySQL && !f.mysql && errors.Is(err, runner.ErrNoMySQL) && os.Getenv("ARBITER_REQUIRE_MYSQL") != "1"
}
