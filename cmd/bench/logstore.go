package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

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
// (one StoreLogs) costs on store ("" is arbiter serve's default, boltdb):
// a bbolt commit fdatasyncs the data pages, then the meta page; raft-wal
// writes the batch and its commit frame and fsyncs once. Counted with
// strace (raftlog/DESIGN.md, "Log stores").
func fsyncsPerAppend(store string) float64 {
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
}

func sortedKeys(m map[int]float64) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
