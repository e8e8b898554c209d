package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/internal/localcluster"
)

// report is everything a run measured; it is written as the JSON file.
type report struct {
	Started        time.Time      `json:"started"`
	Mode           string         `json:"mode"`
	CPUs           int            `json:"cpus"`
	LoadAvg        string         `json:"loadavg_at_start"`
	Participants   int            `json:"participants"`
	WarmupSeconds  float64        `json:"warmup_seconds"`
	MeasureSeconds float64        `json:"measure_seconds"`
	Steps          []stepResult   `json:"steps"`
	BranchSweep    []stepResult   `json:"branch_sweep,omitempty"`
	Best           map[string]int `json:"best_concurrency"`
	BestVsFloor    float64        `json:"best_vs_floor"`
	// ParallelP50VsStandard is the 3-node parallel-commit p50 divided by
	// the standard mode's at concurrency 1 (below 1: parallel is faster),
	// from the separate steps; Paired is the same comparison interleaved.
	ParallelP50VsStandard float64       `json:"parallel_p50_vs_standard_c1,omitempty"`
	Paired                *pairedResult `json:"paired_c1,omitempty"`
	// LogStores are the coordinators' --log-store values, one run of each
	// Arbiter system per store (empty: arbiter serve's default); Stores
	// compares each further store's systems with the first's.
	LogStores []string     `json:"log_stores,omitempty"`
	Stores    []storeRatio `json:"log_store_ratios,omitempty"`
	// StorePaired: each further store's system against its twin at
	// concurrency 1, interleaved.
	StorePaired []storePaired `json:"log_store_paired_c1,omitempty"`
	// Physical is the machine's fdatasync and round-trip latency and the
	// lower bounds they give (physical.go).
	Physical *physicalLimit `json:"physical_limit,omitempty"`
}

// systemSpec names a system and says how to start it; flows are the
// transaction flows its throughput sweep runs (each is a row series).
type systemSpec struct {
	name  string
	flows []flow
	start func(ctx context.Context, binDir, dir string, parts int) (*system, error)
}

// systemSpecs lists the systems in the order they are measured: the floor
// first, so every later row can be compared with it. Each Arbiter system
// runs once per log store (options.logStores); the first store's systems
// keep the plain names ("3-node", "1-node"), each further store's carry it
// as a suffix ("3-node-wal"), next to the first's.
func systemSpecs(stores []string) []systemSpec {
	specs := []systemSpec{{"floor", []flow{flowStandard}, startFloor}}
	for _, kind := range []struct {
		name   string
		coords int
		flows  []flow
	}{{"3-node", 3, []flow{flowStandard, flowParallel, flowBegin}}, {"1-node", 1, []flow{flowStandard}}} {
		for i, store := range storesOrDefault(stores) {
			name := kind.name
			if i > 0 {
				name += "-" + store
			}
			specs = append(specs, systemSpec{name, kind.flows, func(ctx context.Context, binDir, dir string, n int) (*system, error) {
				return startArbiter(ctx, name, binDir, dir, kind.coords, n, store)
			}})
		}
	}
	return specs
}

// storesOrDefault is stores, or one empty store (arbiter serve's default).
func storesOrDefault(stores []string) []string {
	if len(stores) == 0 {
		return []string{""}
	}
	return stores
}

// seriesNames lists every row series in measuring order.
func seriesNames(stores []string) []string {
	var out []string
	for _, spec := range systemSpecs(stores) {
		for _, f := range spec.flows {
			out = append(out, spec.name+f.suffix())
		}
	}
	return out
}

// run builds the binaries, measures every system in turn, and writes the
// results; it returns the paths of the files written.
func run(ctx context.Context, o options) ([]string, error) {
	dir, err := os.MkdirTemp("", "arbiter-bench-")
	if err != nil {
		return nil, err
	}
	defer cleanup(dir, o.keep)
	binDir := filepath.Join(dir, "bin")
	progress("building arbiter, bank and bench into %s", binDir)
	if err := localcluster.BuildCommands(ctx, binDir, []string{"arbiter", "bank", "bench"}); err != nil {
		return nil, err
	}
	rep := newReport(o)
	if err := sweeps(ctx, binDir, dir, o, rep); err != nil {
		return nil, err
	}
	rep.compare()
	rep.compareStores()
	if rep.Physical != nil {
		rep.Physical.fill(rep)
	}
	printTable(os.Stdout, rep)
	return writeResults(o.out, rep)
}

func newReport(o options) *report {
	load, _ := os.ReadFile("/proc/loadavg")
	mode := "full"
	if o.quick {
		mode = "quick"
	}
	return &report{Started: time.Now().UTC(), Mode: mode, CPUs: runtime.NumCPU(), LogStores: o.logStores,
		LoadAvg: strings.TrimSpace(string(load)), Participants: o.participants,
		WarmupSeconds: o.warmup.Seconds(), MeasureSeconds: o.measure.Seconds()}
}

// startAll starts every system with nParts participants each; they idle
// while another is measured (a few percent of a core).
func startAll(ctx context.Context, binDir, dir, suffix string, nParts int, stores []string) ([]*system, error) {
	var out []*system
	for _, spec := range systemSpecs(stores) {
		sdir := filepath.Join(dir, spec.name+suffix)
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			stopAll(out)
			return nil, err
		}
		progress("%s: starting (%d participants)", spec.name, nParts)
		s, err := spec.start(ctx, binDir, sdir, nParts)
		if err != nil {
			stopAll(out)
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func stopAll(systems []*system) {
	for _, s := range systems {
		s.stop()
		progress("%s: stopped", s.name)
	}
}

// sweeps runs the throughput sweep, then the branch sweep. Every system is
// started first and the steps are interleaved (at each concurrency, every
// system in turn), so a change in the machine's background load over the
// run does not favour whichever system ran at a quiet moment.
func sweeps(ctx context.Context, binDir, dir string, o options, rep *report) error {
	systems, err := startAll(ctx, binDir, dir, "", o.participants, o.logStores)
	if err != nil {
		return err
	}
	progress("physical limit: fdatasync in %s, round trips to the floor", dir)
	phys, err := measurePhysical(ctx, dir, systems[0])
	if err != nil {
		stopAll(systems)
		return err
	}
	rep.Physical = &phys
	for _, c := range o.concurrencies {
		for i, spec := range systemSpecs(o.logStores) {
			for _, f := range spec.flows {
				if f == flowBegin && o.quick {
					continue
				}
				st := step{flow: f, concurrency: c, branches: 2, warmup: o.warmup, measure: o.measure}
				if spec.name == "3-node" && f == flowStandard && c == maxOf(o.concurrencies) {
					st.profileDir = o.profileDir
				}
				r, err := measureStep(ctx, systems[i], st)
				if err != nil {
					stopAll(systems)
					return err
				}
				rep.Steps = append(rep.Steps, r)
			}
		}
	}
	for _, s := range systems {
		if s.name == "3-node" {
			p, err := measurePaired(ctx, s, max(2*o.measure, 4*time.Second))
			if err != nil {
				stopAll(systems)
				return err
			}
			rep.Paired = &p
		}
	}
	if len(o.logStores) > 1 {
		if rep.StorePaired, err = measureStoresPaired(ctx, systems, o.logStores, max(3*o.measure, 6*time.Second)); err != nil {
			stopAll(systems)
			return err
		}
	}
	stopAll(systems)
	sortRows(rep.Steps, o.logStores)
	if len(o.branchSweep) == 0 {
		return nil
	}
	if systems, err = startAll(ctx, binDir, dir, "-branches", maxOf(o.branchSweep), o.logStores); err != nil {
		return err
	}
	defer stopAll(systems)
	for _, b := range o.branchSweep { // Begin+Commit: two-phase even with one branch
		for _, s := range systems {
			r, err := measureStep(ctx, s, step{flow: flowBegin, concurrency: 1, branches: b, warmup: o.warmup, measure: o.measure})
			if err != nil {
				return err
			}
			r.System = s.name // one flow per system in this sweep
			rep.BranchSweep = append(rep.BranchSweep, r)
		}
	}
	sortRows(rep.BranchSweep, o.logStores)
	return nil
}

// sortRows orders rows by series (the measuring order of systemSpecs),
// keeping the order of steps within a series.
func sortRows(rows []stepResult, stores []string) {
	rank := make(map[string]int)
	for i, n := range seriesNames(stores) {
		rank[n] = i
	}
	slices.SortStableFunc(rows, func(a, b stepResult) int { return rank[a.System] - rank[b.System] })
}

// measureStep runs one step with progress lines around it.
func measureStep(ctx context.Context, s *system, st step) (stepResult, error) {
	progress("%s%s: concurrency %d, %d branches: %v warm-up, %v measured", s.name, st.flow.suffix(), st.concurrency, st.branches, st.warmup, st.measure)
	r, err := runStep(ctx, s, st)
	if err != nil {
		return r, fmt.Errorf("%s at concurrency %d: %w", s.name, st.concurrency, err)
	}
	progress("%s: %.0f tx/s, p50 %.1f ms, p99 %.1f ms, %d committed, %d aborted, %d errors",
		r.System, r.TxPerSec, r.P50Millis, r.P99Millis, r.Committed, r.Aborted, r.Errors)
	if r.FirstError != "" {
		progress("%s: first error: %s", s.name, r.FirstError)
	}
	return r, nil
}

func cleanup(dir string, keep bool) {
	if keep {
		progress("kept %s (binaries, data, process logs)", dir)
		return
	}
	_ = os.RemoveAll(dir)
}

// progress prints one progress line to stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
