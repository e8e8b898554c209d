package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings of a benchmark run.
type options struct {
	quick         bool
	out           string
	keep          bool
	concurrencies []int
	branchSweep   []int // empty: no latency-against-participants sweep
	warmup        time.Duration
	measure       time.Duration
	participants  int
	profileDir    string   // non-empty: CPU profiles of the 3-node system at its highest concurrency go here
	logStores     []string // empty: arbiter serve's default
	soak          int64    // > 0: run a soak of this many transactions instead (soak.go)
	soakWindow    time.Duration
}

func main() {
	if err := dispatch(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// dispatch runs a floor subcommand or the benchmark itself.
func dispatch(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "floor-coordinator":
			return runFloorCoordinator(args[1:])
		case "floor-participant":
			return runFloorParticipant(args[1:])
		case "replot":
			return replot(args[1:])
		}
	}
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.soak > 0 {
		return runSoak(ctx, o)
	}
	_, err = run(ctx, o)
	return err
}

// parseFlags reads the flags; --quick changes the defaults of the others.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&o.quick, "quick", false, "concurrencies 1,16,64, 2 s each after a 0.5 s warm-up, no begin+commit rows, no participant sweep: about a minute")
	fs.StringVar(&o.out, "out", "bench-results", "directory for the JSON and SVG results")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, data, process logs)")
	conc := fs.String("concurrency", "", "comma-separated concurrencies (default 1,4,16,64,128; quick 1,16,64)")
	branches := fs.String("branches", "", "comma-separated branch counts swept at concurrency 1 (default 1,2,4,8,16; quick none; \"none\" for none)")
	fs.DurationVar(&o.warmup, "warmup", 0, "warm-up before each measurement (default 1s; quick 0.5s)")
	fs.DurationVar(&o.measure, "duration", 0, "measurement per step (default 10s; quick 3s)")
	fs.StringVar(&o.profileDir, "profile", "", "directory for CPU profiles (pprof) of the 3-node leader, a follower and the first participant, taken during the 3-node standard step at the highest concurrency (off when empty)")
	fs.IntVar(&o.participants, "participants", 3, "participant processes per system in the concurrency sweep (at least 2); the branch sweep uses as many as its largest branch count")
	stores := fs.String("log-store", "", "comma-separated Raft log stores of the coordinators (boltdb, wal); with two, every Arbiter system runs once on each, interleaved, named with the store as a suffix after the first (3-node = the first store, 3-node-wal), and the report prints their ratios (default: arbiter serve's default)")
	fs.Int64Var(&o.soak, "soak", 0, "instead of the sweeps: drive this many committed transactions through one 3-node system at the highest --concurrency and print every process's RSS every 5% of the way, with a verdict on the coordinators' (flat: from 1.5 --soak-window on, peak RSS within 1.5x of RSS then); writes soak.json to --out")
	fs.DurationVar(&o.soakWindow, "soak-window", time.Minute, "with --soak: the coordinators' --uniqueness-window (at least 8s; --max-timeout half of it, at least 5s); they remember every transaction finished within it, so their memory grows for one window (rate x window x about 350 bytes of heap) and must be flat after; the verdict looks at the run from 1.5 windows on")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.soak < 0 {
		return o, fmt.Errorf("--soak %d: want a positive number of transactions", o.soak)
	}
	if o.soak > 0 && o.soakWindow < 8*time.Second {
		return o, fmt.Errorf("--soak-window %v: want at least 8s (the coordinators' --max-timeout, at least their 5s default transaction timeout, must be shorter)", o.soakWindow)
	}
	if err := o.parseStores(*stores); err != nil {
		return o, err
	}
	return o, o.fill(*conc, *branches)
}

// fill applies the mode's defaults to the settings left unset.
func (o *options) fill(conc, branches string) error {
	defConc, defBranches, defMeasure := "1,4,16,64,128", "1,2,4,8,16", 10*time.Second
	defWarmup := time.Second
	if o.quick {
		defConc, defBranches, defMeasure, defWarmup = "1,16,64", "none", 2*time.Second, 500*time.Millisecond
	}
	if o.measure == 0 {
		o.measure = defMeasure
	}
	if o.warmup == 0 {
		o.warmup = defWarmup
	}
	var err error
	if o.concurrencies, err = parseInts(or(conc, defConc)); err != nil {
		return fmt.Errorf("--concurrency: %w", err)
	}
	if b := or(branches, defBranches); b != "none" {
		if o.branchSweep, err = parseInts(b); err != nil {
			return fmt.Errorf("--branches: %w", err)
		}
	}
	o.participants = max(o.participants, 2)
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseInts reads a comma-separated list of positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
