package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
)

// A soak (--soak N) drives N committed transactions through one three-node
// system at one concurrency and samples every process's resident set size
// as it goes: memory must stay flat once the bounded tables are full (the
// coordinators' finished-transaction window, the decision ring, the Raft
// log between snapshots), whatever the count. The coordinators remember
// every transaction finished within their uniqueness window (15 minutes by
// default: at 1.7k tx/s that is 1.5M records, about 350 bytes of heap
// each), so they run with --soak-window as the window, and the verdict
// looks at the run from 1.5 windows on, once the window is full.
// Participants keep every fresh account the workload credits, so their
// data grows by design; their RSS is printed beside, not judged.

// soakSample is the processes' RSS after Committed transactions.
type soakSample struct {
	Committed int64              `json:"committed"`
	Seconds   float64            `json:"seconds"`
	RSSMB     map[string]float64 `json:"rss_mb"` // process name -> RSS
}

// soakResult is a soak's samples and its verdict on the coordinators.
type soakResult struct {
	Target      int64        `json:"target"`
	Concurrency int          `json:"concurrency"`
	LogStore    string       `json:"log_store,omitempty"`
	Samples     []soakSample `json:"samples"`
	Aborted     int64        `json:"aborted"`
	Errors      int64        `json:"errors"`
	// Window is the coordinators' uniqueness window.
	Window time.Duration `json:"window"`
	// JudgedFrom is the first sample of the verdict (the first taken 1.5
	// windows or more into the run); CoordGrowth is, per coordinator, its
	// largest RSS from there on divided by its RSS then. Empty when the
	// run was too short to judge.
	JudgedFrom  *soakSample        `json:"judged_from,omitempty"`
	CoordGrowth map[string]float64 `json:"coord_growth"`
}

// soakFlatBound is the largest growth the verdict calls flat: RSS moves
// with the Go heap's collection cycle, so a few tens of percent of noise
// is normal; a leak grows with the count without bound.
const soakFlatBound = 1.5

func runSoak(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "arbiter-soak-")
	if err != nil {
		return err
	}
	defer cleanup(dir, o.keep)
	binDir := filepath.Join(dir, "bin")
	progress("building arbiter and bank into %s", binDir)
	if err := localcluster.BuildCommands(ctx, binDir, []string{"arbiter", "bank"}); err != nil {
		return err
	}
	store := ""
	if len(o.logStores) > 0 {
		store = o.logStores[0]
	}
	sdir := filepath.Join(dir, "3-node")
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return err
	}
	s, err := startArbiter(ctx, "3-node", binDir, sdir, 3, o.participants, store,
		"--uniqueness-window", o.soakWindow.String(), "--max-timeout", soakMaxTimeout(o.soakWindow).String())
	if err != nil {
		return err
	}
	defer s.stop()
	cli, err := newClient(s.clientAddrs(ctx))
	if err != nil {
		return err
	}
	defer cli.Close()
	conc := slices.Max(o.concurrencies)
	d := &driver{cli: cli, parts: s.partIDs(), branches: 2, flow: flowStandard, tag: fmt.Sprintf("soak-%d", time.Now().UnixNano())}
	d.phase.Store(phaseMeasure)
	d.start(ctx, conc)
	defer d.stop()
	res := soakResult{Target: o.soak, Concurrency: conc, LogStore: store, Window: o.soakWindow}
	start := time.Now()
	every := max(o.soak/20, 1)
	next := int64(0)
	for ctx.Err() == nil {
		done := d.done.Load()
		if done >= next {
			smp := soakSample{Committed: done, Seconds: time.Since(start).Seconds(), RSSMB: map[string]float64{}}
			for _, p := range s.all() {
				if b, err := rssBytes(p.Pid()); err == nil {
					smp.RSSMB[p.Name] = float64(b) / (1 << 20)
				}
			}
			res.Samples = append(res.Samples, smp)
			progress("soak: %d committed in %.0fs (%.0f tx/s)", done, smp.Seconds, float64(done)/max(smp.Seconds, 1e-9))
			next = done - done%every + every
			if done >= o.soak {
				break
			}
		}
		backoff.Sleep(ctx, 100*time.Millisecond)
	}
	d.stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res.Aborted, res.Errors = d.aborts.Load(), d.errs.Load()
	res.JudgedFrom, res.CoordGrowth = coordGrowth(res.Samples, s, o.soakWindow)
	printSoak(os.Stdout, &res, s)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	path := filepath.Join(o.out, "soak.json")
	progress("wrote %s", path)
	return os.WriteFile(path, b, 0o644)
}

// coordGrowth is each coordinator's largest RSS from the first sample
// taken 1.5 windows into the run, over its RSS in that sample; nil when no
// sample after that one exists.
func coordGrowth(samples []soakSample, s *system, window time.Duration) (*soakSample, map[string]float64) {
	out := map[string]float64{}
	from := slices.IndexFunc(samples, func(smp soakSample) bool { return smp.Seconds >= 1.5*window.Seconds() })
	if from < 0 || from == len(samples)-1 {
		return nil, out
	}
	base := samples[from]
	for _, c := range s.coords {
		peak := 0.0
		for _, smp := range samples[from:] {
			peak = max(peak, smp.RSSMB[c.Name])
		}
		if base.RSSMB[c.Name] > 0 {
			out[c.Name] = peak / base.RSSMB[c.Name]
		}
	}
	return &base, out
}

// soakMaxTimeout is the coordinators' --max-timeout in a soak: half the
// window, but no less than their default transaction timeout (5 s), which
// it may not undercut.
func soakMaxTimeout(window time.Duration) time.Duration { return max(5*time.Second, window/2) }

func printSoak(w io.Writer, r *soakResult, s *system) {
	fmt.Fprintf(w, "\nsoak: %d transactions committed (%d aborted, %d errors) through 3 coordinators (uniqueness window %v) and %d participants at concurrency %d; RSS in MB\n",
		r.Samples[len(r.Samples)-1].Committed, r.Aborted, r.Errors, r.Window, len(s.parts), r.Concurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "committed\tseconds\t")
	for _, p := range s.all() {
		fmt.Fprintf(tw, "%s\t", p.Name)
	}
	fmt.Fprintln(tw)
	for _, smp := range r.Samples {
		fmt.Fprintf(tw, "%d\t%.0f\t", smp.Committed, smp.Seconds)
		for _, p := range s.all() {
			fmt.Fprintf(tw, "%.1f\t", smp.RSSMB[p.Name])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if r.JudgedFrom == nil {
		fmt.Fprintf(w, "too short to judge: the run must go on past 1.5 windows (%v); lengthen --soak or shorten --soak-window\n", time.Duration(1.5*float64(r.Window)))
		return
	}
	fmt.Fprintf(w, "judged from %d committed (%.0fs, 1.5 windows in):\n", r.JudgedFrom.Committed, r.JudgedFrom.Seconds)
	for _, c := range s.coords {
		g, ok := r.CoordGrowth[c.Name]
		if !ok {
			continue
		}
		verdict := "flat"
		if g > soakFlatBound {
			verdict = "GROWING"
		}
		fmt.Fprintf(w, "%s: peak RSS from then on is %.2fx its RSS then: %s (bound %.1fx)\n", c.Name, g, verdict, soakFlatBound)
	}
}
