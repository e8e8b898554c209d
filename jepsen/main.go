// Command jepsen is Arbiter's fault-injection suite, the control node of a
// Jepsen-style test: it builds the binaries (with crash points compiled in),
// starts three coordinators and three bank participants as real processes,
// runs a workload while nemeses inject faults, heals, waits for recovery,
// checks the invariants and writes a report per run.
//
//	go run ./jepsen --workload bank --nemesis kill-leader,partition-ring --duration 30s
//	go run ./jepsen --matrix standard
package main

import (
	"context"
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
	workload, nemeses, matrix, out, broken string
	duration, interval                     time.Duration
	concurrency                            int
	seed                                   int64
}

func main() {
	var f flags
	flag.StringVar(&f.workload, "workload", "bank", "workload: bank or status")
	flag.StringVar(&f.nemeses, "nemesis", "kill-leader", "comma-separated nemeses ("+strings.Join(runner.Nemeses(), ", ")+"), or none")
	flag.StringVar(&f.matrix, "matrix", "", "run a predefined matrix instead: short (about 5 min) or standard (about 15 min)")
	flag.DurationVar(&f.duration, "duration", 30*time.Second, "workload duration of each run")
	flag.DurationVar(&f.interval, "interval", 5*time.Second, "time between fault starts")
	flag.IntVar(&f.concurrency, "concurrency", 6, "client workers")
	flag.Int64Var(&f.seed, "seed", time.Now().UnixNano()%100000, "seed of the fault schedule and the workload")
	flag.StringVar(&f.out, "out", "jepsen-reports", "directory for reports and node data")
	flag.StringVar(&f.broken, "broken", "", "run a deliberately broken coordinator (commit-despite-no, ack-before-decide): the checkers must report anomalies")
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
		fmt.Printf("jepsen: run %d/%d %s: workload %s, nemeses %v, %v, seed %d\n", i+1, len(plans), p.Name, p.Workload, p.Nemeses, p.Duration, p.Seed)
		if err := suite.run(ctx, p); err != nil {
			return false, fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return suite.finish(), nil
}
