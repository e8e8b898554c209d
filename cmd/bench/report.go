package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// compare fills VsFloor, Best and BestVsFloor.
func (r *report) compare() {
	floor := make(map[[2]int]float64)
	for _, s := range append(r.Steps, r.BranchSweep...) {
		if s.System == "floor" {
			floor[[2]int{s.Concurrency, s.Branches}] = s.TxPerSec
		}
	}
	ratio := func(s *stepResult) {
		if f := floor[[2]int{s.Concurrency, s.Branches}]; f > 0 && s.System != "floor" {
			v := s.TxPerSec / f
			s.VsFloor = &v
		}
	}
	for i := range r.Steps {
		ratio(&r.Steps[i])
	}
	for i := range r.BranchSweep {
		ratio(&r.BranchSweep[i])
	}
	r.Best = make(map[string]int)
	best := make(map[string]float64)
	for _, s := range r.Steps {
		if s.TxPerSec > best[s.System] {
			best[s.System], r.Best[s.System] = s.TxPerSec, s.Concurrency
		}
	}
	if best["floor"] > 0 {
		r.BestVsFloor = best["3-node"] / best["floor"]
	}
	p50 := make(map[string]float64)
	for _, s := range r.Steps {
		if s.Concurrency == 1 {
			p50[s.System] = s.P50Millis
		}
	}
	if p50["3-node"] > 0 {
		r.ParallelP50VsStandard = p50["3-node parallel"] / p50["3-node"]
	}
}

// printTable writes the human-readable results.
func printTable(w io.Writer, r *report) {
	fmt.Fprintf(w, "\n%s run, %d CPUs, load average at start %s; %d participants; %.1fs measured per step after %.1fs warm-up\n",
		r.Mode, r.CPUs, r.LoadAvg, r.Participants, r.MeasureSeconds, r.WarmupSeconds)
	fmt.Fprintln(w, "Each transaction: two branches (+1 on a fresh account at two participants), committed in one call (no Begin)")
	fmt.Fprintln(w, "in standard mode unless the row says parallel (parallel commit) or begin+commit (Begin, then Commit).")
	writeRows(w, r.Steps)
	if len(r.BranchSweep) > 0 {
		fmt.Fprintf(w, "\nLatency against branches per transaction (concurrency 1, %d participants):\n", maxBranches(r.BranchSweep))
		writeRows(w, r.BranchSweep)
	}
	fmt.Fprintf(w, "\nBest throughput: 3-node %.2fx the RPC floor (3-node at concurrency %d, floor at %d, 1-node at %d).\n",
		r.BestVsFloor, r.Best["3-node"], r.Best["floor"], r.Best["1-node"])
	if r.ParallelP50VsStandard > 0 {
		fmt.Fprintf(w, "Parallel commit at concurrency 1, separate steps: p50 %.2fx the standard mode's.\n", r.ParallelP50VsStandard)
	}
	if p := r.Paired; p != nil {
		fmt.Fprintf(w, "Parallel commit at concurrency 1, interleaved (%d pairs on %s): p50 %.2f ms vs %.2f ms standard = %.2fx; p99 %.2f vs %.2f ms.\n",
			p.Pairs, p.System, p.ParallelP50, p.StandardP50, p.Ratio, p.ParallelP99, p.StandardP99)
	}
	printStores(w, r)
	fmt.Fprintln(w, "CPU = utime+stime of every process incl. the driver; entries and fsyncs = leader's Raft log deltas / committed")
	fmt.Fprintln(w, "(fsyncs: the leader's log appends × 2 on boltdb, × 1 on wal, the fdatasyncs/fsyncs each append makes).")
	printPhysical(w, r.Physical)
	printBreakdowns(w, r)
}

func writeRows(w io.Writer, rows []stepResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tconc\tbranches\ttx/s\tp50 ms\tp99 ms\tp99.9 ms\tCPU ms/tx\tentries/tx\tfsyncs/tx\tcoord RSS MB\taborted\terrors\tvs floor\t")
	for _, s := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%.0f\t%d\t%d\t%s\t\n",
			s.System, s.Concurrency, s.Branches, s.TxPerSec, s.P50Millis, s.P99Millis, s.P999Millis,
			s.CPUSecondsPerTx*1000, opt(s.LogEntriesPerTx, "%.2f"), opt(s.FsyncsPerTx, "%.2f"),
			float64(s.CoordRSSBytes)/(1<<20), s.Aborted, s.Errors, opt(s.VsFloor, "%.2fx"))
	}
	_ = tw.Flush()
}

func maxBranches(rows []stepResult) int {
	m := 0
	for _, r := range rows {
		m = max(m, r.Branches)
	}
	return m
}

// opt formats an optional number, "-" when absent.
func opt(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// writeResults writes bench-<time>.json and .svg into dir.
func writeResults(dir string, r *report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "bench-"+r.Started.Format("20060102-150405"))
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".svg", []byte(plot(r)), 0o644); err != nil {
		return nil, err
	}
	fmt.Printf("\nwrote %s.json and %s.svg\n", base, base)
	return []string{base + ".json", base + ".svg"}, nil
}

// replot is the "bench replot RESULTS.json" subcommand: it prints the
// table and rewrites the SVG next to the JSON file, from the JSON alone.
func replot(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: bench replot RESULTS.json")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	printTable(os.Stdout, &r)
	svg := strings.TrimSuffix(args[0], filepath.Ext(args[0])) + ".svg"
	if err := os.WriteFile(svg, []byte(plot(&r)), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", svg)
	return nil
}
