package report

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// Row is one run in the matrix of nemeses × workloads.
type Row struct {
	Name      string
	Workload  string
	Nemeses   []string
	Txns      int // ops that run or decide a tx (status queries excluded)
	Committed int
	Aborted   int
	Unknown   int
	Anomalies int // anomalies found, summed over every checker
	Failed    int // failing checkers
	Pass      bool
	// Unavailable is the longest interval without a commit while a fault
	// held, after the grace (the availability checker's measure).
	Unavailable time.Duration
}

// NewRow summarizes a checked run as a Row.
func NewRow(run *history.Run, results []check.Result) Row {
	t := countOps(run.Ops)
	failed := failedCheckers(results)
	return Row{
		Name: run.Name, Workload: run.Workload, Nemeses: run.Nemeses,
		Txns: t.Txns, Committed: t.Committed, Aborted: t.Aborted, Unknown: t.Unknown,
		Anomalies: anomalies(results), Failed: failed, Pass: failed == 0,
		Unavailable: unavailable(results),
	}
}

// Table renders rows as an aligned text table with a totals line.
func Table(rows []Row) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tWORKLOAD\tNEMESES\tTXNS\tCOMMITTED\tABORTED\tUNKNOWN\tUNAVAILABLE-S\tANOMALIES\tFAILED-CHECKERS\tRESULT")
	var total Row
	total.Pass = true
	for _, r := range rows {
		writeRow(tw, r)
		total.Txns += r.Txns
		total.Committed += r.Committed
		total.Aborted += r.Aborted
		total.Unknown += r.Unknown
		total.Anomalies += r.Anomalies
		total.Failed += r.Failed
		total.Pass = total.Pass && r.Pass
		total.Unavailable = max(total.Unavailable, r.Unavailable) // the worst run
	}
	total.Name = fmt.Sprintf("total (%d runs)", len(rows))
	writeRow(tw, total)
	tw.Flush()
	return b.String()
}

func writeRow(tw *tabwriter.Writer, r Row) {
	nemeses := strings.Join(r.Nemeses, "+")
	if nemeses == "" {
		nemeses = "-"
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%.2f\t%d\t%d\t%s\n", r.Name, orDash(r.Workload), nemeses,
		r.Txns, r.Committed, r.Aborted, r.Unknown, r.Unavailable.Seconds(), r.Anomalies, r.Failed, passFail(r.Pass))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// unavailable is the availability checker's measure, 0 without one.
func unavailable(results []check.Result) time.Duration {
	for _, r := range results {
		if r.Name == check.NameAvailability {
			return r.Measure
		}
	}
	return 0
}
