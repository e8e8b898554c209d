package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// parseStores reads --log-store: distinct known stores, comma-separated.
func (o *options) parseStores(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, f := range strings.Split(s, ",") {
		st := strings.TrimSpace(f)
		if !slices.Contains(raftlog.LogStores(), st) {
			return fmt.Errorf("--log-store: %q is not one of %s", st, strings.Join(raftlog.LogStores(), ", "))
		}
		if slices.Contains(o.logStores, st) {
			return fmt.Errorf("--log-store: %q listed twice", st)
		}
		o.logStores = append(o.logStores, st)
	}
	return nil
}

// fsyncsPerAppend is how many fsync-family calls one Raft log append
// (one StoreLogs) costs on store ("" is arbiter serve's default, wal):
// a bbolt commit fdatasyncs the data pages, then the meta page; raft-wal
// writes the batch and its commit frame and fsyncs once. Counted with
// strace (raftlog/DESIGN.md, "Log stores").
func fsyncsPerAppend(store string) float64 {
	if store == "" {
		store = raftlog.DefaultConfig().LogStore
	}
	if store == raftlog.LogStoreWAL {
		return 1
	}
	return 2
}

// storeRatio compares one series on a further log store with the same
// series on the first store, measured in the same run (interleaved).
type storeRatio struct {
	Series string `json:"series"` // e.g. "3-node-wal parallel"
	Versus string `json:"versus"` // e.g. "3-node parallel"
	// P50C1 and P99C1 are the latency ratios at concurrency 1 (below 1:
	// the further store is faster).
	P50C1 float64 `json:"p50_c1_ratio"`
	P99C1 float64 `json:"p99_c1_ratio"`
	// TxPerSec is the throughput ratio at each concurrency; Best the ratio
	// of the two series' best throughputs.
	TxPerSec map[int]float64 `json:"tx_per_sec_ratio"`
	Best     float64         `json:"best_tx_per_sec_ratio"`
}

// compareStores fills r.Stores from r.Steps.
func (r *report) compareStores() {
	if len(r.LogStores) < 2 {
		return
	}
	rows := make(map[string]map[int]stepResult)
	for _, s := range r.Steps {
		if rows[s.System] == nil {
			rows[s.System] = make(map[int]stepResult)
		}
		rows[s.System][s.Concurrency] = s
	}
	for _, series := range seriesNames(r.LogStores) {
		base := firstStoreSeries(series, r.LogStores[1:])
		if base == series || rows[series] == nil || rows[base] == nil {
			continue
		}
		r.Stores = append(r.Stores, ratioOf(series, base, rows[series], rows[base]))
	}
}

// firstStoreSeries maps "3-node-wal parallel" to "3-node parallel".
func firstStoreSeries(series string, further []string) string {
	sys, flowName, _ := strings.Cut(series, " ")
	for _, st := range further {
		if base, ok := strings.CutSuffix(sys, "-"+st); ok {
			return strings.TrimSpace(base + " " + flowName)
		}
	}
	return series
}

func ratioOf(series, base string, got, want map[int]stepResult) storeRatio {
	sr := storeRatio{Series: series, Versus: base, TxPerSec: make(map[int]float64)}
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	var bestGot, bestWant float64
	for c, g := range got {
		w := want[c]
		sr.TxPerSec[c] = div(g.TxPerSec, w.TxPerSec)
		bestGot, bestWant = max(bestGot, g.TxPerSec), max(bestWant, w.TxPerSec)
		if c == 1 {
			sr.P50C1, sr.P99C1 = div(g.P50Millis, w.P50Millis), div(g.P99Millis, w.P99Millis)
		}
	}
	sr.Best = div(bestGot, bestWant)
	return sr
}

// printStores writes the log-store comparison, if the run made one.
func printStores(w io.Writer, r *report) {
	if len(r.Stores) == 0 {
		return
	}
	fmt.Fprintf(w, "\nLog stores, interleaved in this run (%s rows: %s; a -STORE suffix: that store). Ratios further store / first store:\n",
		strings.Join(slices.DeleteFunc(seriesNames(r.LogStores[:1]), func(s string) bool { return s == "floor" }), ", "), r.LogStores[0])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "series\tversus\tp50 c=1\tp99 c=1\tbest tx/s\ttx/s by concurrency\t")
	for _, s := range r.Stores {
		var byConc []string
		for _, c := range sortedKeys(s.TxPerSec) {
			byConc = append(byConc, fmt.Sprintf("c=%d %.2fx", c, s.TxPerSec[c]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2fx\t%.2fx\t%.2fx\t%s\t\n", s.Series, s.Versus, s.P50C1, s.P99C1, s.Best, strings.Join(byConc, " "))
	}
	_ = tw.Flush()
	printStorePaired(w, r)
}

func sortedKeys(m map[int]float64) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// storePaired compares a system on a further log store with its twin on
// the first store at concurrency 1, transactions interleaved (each pair
// runs one on each, in random order, standard flow), like pairedResult:
// separate steps at concurrency 1 on this shared machine differ by more
// than two fsyncs.
type storePaired struct {
	System string  `json:"system"` // e.g. "3-node-wal"
	Versus string  `json:"versus"` // e.g. "3-node"
	Pairs  int     `json:"pairs"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	VsP50  float64 `json:"versus_p50_ms"`
	VsP99  float64 `json:"versus_p99_ms"`
	// RatioP50 and RatioP99 are System's over Versus's (below 1: faster).
	RatioP50 float64 `json:"ratio_p50"`
	RatioP99 float64 `json:"ratio_p99"`
	Errors   int     `json:"errors"`
}

// measureStoresPaired pairs every further store's system with its twin.
func measureStoresPaired(ctx context.Context, systems []*system, stores []string, d time.Duration) ([]storePaired, error) {
	byName := make(map[string]*system)
	for _, s := range systems {
		byName[s.name] = s
	}
	var out []storePaired
	for _, base := range []string{"3-node", "1-node"} {
		for _, st := range stores[1:] {
			a, b := byName[base+"-"+st], byName[base]
			if a == nil || b == nil {
				continue
			}
			p, err := measureStorePair(ctx, a, b, d)
			if err != nil {
				return out, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func measureStorePair(ctx context.Context, a, b *system, d time.Duration) (storePaired, error) {
	progress("%s and %s interleaved at concurrency 1 for %v", a.name, b.name, d)
	res := storePaired{System: a.name, Versus: b.name}
	var drv [2]*driver
	for i, s := range []*system{a, b} {
		cli, err := newClient(s.clientAddrs(ctx))
		if err != nil {
			return res, err
		}
		defer cli.Close()
		drv[i] = &driver{cli: cli, parts: s.partIDs(), branches: 2, flow: flowStandard,
			tag: fmt.Sprintf("%s-storepair-%d", s.name, time.Now().UnixNano())}
	}
	var lat [2][]time.Duration
	for end, seq := time.Now().Add(d), 0; time.Now().Before(end) && ctx.Err() == nil; seq++ {
		order := []int{0, 1}
		if rand.IntN(2) == 0 {
			order[0], order[1] = 1, 0
		}
		for _, i := range order {
			start := time.Now()
			out, err := drv[i].transaction(ctx, 0, seq)
			if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
				res.Errors++
				continue
			}
			lat[i] = append(lat[i], time.Since(start))
		}
		res.Pairs++
	}
	x, y := sortedCopy(lat[0]), sortedCopy(lat[1])
	res.P50, res.P99 = millis(percentile(x, 50)), millis(percentile(x, 99))
	res.VsP50, res.VsP99 = millis(percentile(y, 50)), millis(percentile(y, 99))
	if res.VsP50 > 0 && res.VsP99 > 0 {
		res.RatioP50, res.RatioP99 = res.P50/res.VsP50, res.P99/res.VsP99
	}
	progress("%s vs %s interleaved: p50 %.2f vs %.2f ms (%.2fx), %d pairs, %d errors",
		a.name, b.name, res.P50, res.VsP50, res.RatioP50, res.Pairs, res.Errors)
	return res, ctx.Err()
}

// printStorePaired writes the interleaved comparisons, if any.
func printStorePaired(w io.Writer, r *report) {
	for _, p := range r.StorePaired {
		fmt.Fprintf(w, "%s vs %s at concurrency 1, interleaved (%d pairs): p50 %.2f vs %.2f ms = %.2fx; p99 %.2f vs %.2f ms = %.2fx.\n",
			p.System, p.Versus, p.Pairs, p.P50, p.VsP50, p.RatioP50, p.P99, p.VsP99, p.RatioP99)
	}
}
