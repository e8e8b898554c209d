package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// outcomes in the order reports show them.
var outcomes = []string{history.OutcomeCommit, history.OutcomeAbort, history.OutcomeUnknown, history.OutcomeFail}

// tally counts a run's ops. Txns, Committed, Aborted and Unknown count the
// ops that run or decide a tx (every kind but those that only ask, see
// history.Asks, and enlists).
type tally struct {
	Ops, Txns, Committed, Aborted, Unknown, Failed int
	ByKind                                         map[string]map[string]int // kind -> outcome -> ops
}

func countOps(ops []history.Op) tally {
	t := tally{Ops: len(ops), ByKind: map[string]map[string]int{}}
	for _, op := range ops {
		if t.ByKind[op.Kind] == nil {
			t.ByKind[op.Kind] = map[string]int{}
		}
		t.ByKind[op.Kind][op.Outcome]++
		if !history.Asks(op.Kind) && op.Kind != history.KindEnlist {
			t.add(op.Outcome)
		}
	}
	return t
}

func (t *tally) add(outcome string) {
	t.Txns++
	switch outcome {
	case history.OutcomeCommit:
		t.Committed++
	case history.OutcomeAbort:
		t.Aborted++
	case history.OutcomeUnknown:
		t.Unknown++
	default:
		t.Failed++
	}
}

func (t tally) kinds() []string {
	kinds := make([]string, 0, len(t.ByKind))
	for k := range t.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// anomalies sums the anomalies every checker found.
func anomalies(results []check.Result) int {
	n := 0
	for _, r := range results {
		n += r.Anomalies
	}
	return n
}

// failedCheckers counts the checkers that failed.
func failedCheckers(results []check.Result) int {
	n := 0
	for _, r := range results {
		if !r.Pass {
			n++
		}
	}
	return n
}

// SummaryLine is one line about a run: its name, op counts, how many
// anomalies were found and how many checkers failed.
func SummaryLine(run *history.Run, results []check.Result) string {
	t := countOps(run.Ops)
	verdict := "PASS"
	if failedCheckers(results) > 0 {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s %s: %d ops, %d txns, committed %d, aborted %d, unknown %d, unavailable %.2fs, longest commit gap %.2fs, anomalies %d in %d failed checker(s)",
		verdict, run.Name, t.Ops, t.Txns, t.Committed, t.Aborted, t.Unknown, unavailable(results).Seconds(), check.LongestCommitGap(run).Gap.Seconds(), anomalies(results), failedCheckers(results))
}

func writeSummary(w io.Writer, run *history.Run, results []check.Result) error {
	fmt.Fprintf(w, "%s\n\n", SummaryLine(run, results))
	writeRunHeader(w, run)
	writeCounts(w, countOps(run.Ops))
	if g := check.LongestCommitGap(run); g.Gap > 0 {
		fmt.Fprintf(w, "\nLongest interval without a commit: %.3fs (%.3fs-%.3fs)\n", g.Gap.Seconds(), g.From.Seconds(), g.To.Seconds())
	}
	fmt.Fprintln(w, "\nCheckers")
	for _, r := range results {
		fmt.Fprintf(w, "  %-19s %s  (checked %d, anomalies %d)\n", r.Name, passFail(r.Pass), r.Checked, r.Anomalies)
		for _, e := range r.Evidence {
			fmt.Fprintf(w, "      %s\n", e)
		}
	}
	fmt.Fprintln(w, "\nFault timeline")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  START\tEND\tKIND\tTARGETS\tDETAIL")
	for _, f := range run.Faults {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", secs(f.Start), faultEnd(f), f.Kind, strings.Join(f.Targets, ","), f.Detail)
	}
	return tw.Flush()
}

func writeRunHeader(w io.Writer, run *history.Run) {
	fmt.Fprintf(w, "run       %s\nworkload  %s\nnemeses   %s\nseed      %d\nduration  %s\n",
		run.Name, run.Workload, strings.Join(run.Nemeses, ", "), run.Seed, run.Duration)
	if run.Broken != "" {
		fmt.Fprintf(w, "broken    %s\n", run.Broken)
	}
	if run.LogStore != "" {
		fmt.Fprintf(w, "log store %s\n", run.LogStore)
	}
}

func writeCounts(w io.Writer, t tally) {
	fmt.Fprintln(w, "\nOps by kind and outcome")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  KIND\t%s\tTOTAL\t\n", strings.ToUpper(strings.Join(outcomes, "\t")))
	for _, kind := range t.kinds() {
		fmt.Fprintf(tw, "  %s\t", kind)
		total := 0
		for _, o := range outcomes {
			fmt.Fprintf(tw, "%d\t", t.ByKind[kind][o])
			total += t.ByKind[kind][o]
		}
		fmt.Fprintf(tw, "%d\t\n", total)
	}
	tw.Flush()
}

func passFail(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// faultEnd is when a fault was healed, or "-" when it never was.
func faultEnd(f history.Fault) string {
	if f.End <= f.Start {
		return "-"
	}
	return secs(f.End)
}

// secs formats a run offset as seconds with millisecond precision.
func secs(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}
