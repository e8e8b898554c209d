package report

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// pageData is what index.html shows.
type pageData struct {
	Run           *history.Run
	Results       []check.Result
	Logs          []string // node names whose log was copied
	Linearization bool     // linearizability.html was written
}

const css = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}.pass{background:#dff5df}.fail{background:#fadada}
ul.ev{margin:0;padding-left:1.2em;font:12px monospace}svg{border:1px solid #ddd;background:#fff}
.meta td:first-child{font-weight:bold}`

// esc escapes text for HTML and SVG.
var esc = html.EscapeString

func writeIndex(w io.Writer, p pageData) error {
	var b strings.Builder
	run := p.Run
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style></head><body>\n",
		esc(run.Name), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>%s</p>\n", esc(run.Name), esc(SummaryLine(run, p.Results)))
	writeMeta(&b, run, p.Results)
	b.WriteString("<h2>Checkers</h2>\n")
	writeCheckers(&b, p.Results)
	b.WriteString("<h2>Latency</h2>\n")
	b.WriteString(latencySVG(run))
	b.WriteString("<h2>Throughput (ops completed per second)</h2>\n")
	b.WriteString(throughputSVG(run))
	b.WriteString("<h2>Fault timeline</h2>\n")
	writeFaults(&b, run.Faults)
	b.WriteString("<h2>Ops by kind and outcome</h2>\n")
	writeCountTable(&b, countOps(run.Ops))
	writeLinks(&b, p)
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMeta(b *strings.Builder, run *history.Run, results []check.Result) {
	b.WriteString("<table class=\"meta\">\n")
	row := func(k, v string) { fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td></tr>\n", k, esc(v)) }
	row("workload", run.Workload)
	row("nemeses", strings.Join(run.Nemeses, ", "))
	row("seed", fmt.Sprint(run.Seed))
	row("duration", run.Duration.String())
	if run.Broken != "" {
		row("broken mode", run.Broken)
	}
	if run.LogStore != "" {
		row("log store", run.LogStore)
	}
	row("liveness wait", run.Final.LivenessWait.String())
	row("UNAVAILABLE-S (longest interval without a commit while a fault held, after the grace)", fmt.Sprintf("%.2f", unavailable(results).Seconds()))
	b.WriteString("</table>\n")
}

func writeCheckers(b *strings.Builder, results []check.Result) {
	b.WriteString("<table><tr><th>checker</th><th>result</th><th>checked</th><th>evidence</th></tr>\n")
	for _, r := range results {
		class := "pass"
		if !r.Pass {
			class = "fail"
		}
		fmt.Fprintf(b, "<tr class=\"%s\"><td>%s</td><td>%s</td><td class=\"n\">%d</td><td>",
			class, esc(r.Name), passFail(r.Pass), r.Checked)
		if len(r.Evidence) > 0 {
			b.WriteString("<ul class=\"ev\">")
			for _, e := range r.Evidence {
				fmt.Fprintf(b, "<li>%s</li>", esc(e))
			}
			b.WriteString("</ul>")
		}
		b.WriteString("</td></tr>\n")
	}
	b.WriteString("</table>\n")
}

func writeFaults(b *strings.Builder, faults []history.Fault) {
	if len(faults) == 0 {
		b.WriteString("<p>No faults were injected.</p>\n")
		return
	}
	b.WriteString("<table><tr><th>start</th><th>end</th><th>kind</th><th>targets</th><th>detail</th></tr>\n")
	for _, f := range faults {
		fmt.Fprintf(b, "<tr><td class=\"n\">%s</td><td class=\"n\">%s</td><td style=\"background:%s\">%s</td><td>%s</td><td>%s</td></tr>\n",
			secs(f.Start), faultEnd(f), faultColor(f.Kind, faults), esc(f.Kind),
			esc(strings.Join(f.Targets, ", ")), esc(f.Detail))
	}
	b.WriteString("</table>\n")
}

func writeCountTable(b *strings.Builder, t tally) {
	b.WriteString("<table><tr><th>kind</th>")
	for _, o := range outcomes {
		fmt.Fprintf(b, "<th style=\"color:%s\">%s</th>", outcomeColor(o), o)
	}
	b.WriteString("<th>total</th></tr>\n")
	for _, kind := range t.kinds() {
		fmt.Fprintf(b, "<tr><td>%s</td>", esc(kind))
		total := 0
		for _, o := range outcomes {
			fmt.Fprintf(b, "<td class=\"n\">%d</td>", t.ByKind[kind][o])
			total += t.ByKind[kind][o]
		}
		fmt.Fprintf(b, "<td class=\"n\">%d</td></tr>\n", total)
	}
	b.WriteString("</table>\n")
}

func writeLinks(b *strings.Builder, p pageData) {
	b.WriteString("<h2>Files</h2>\n<ul>\n")
	files := []string{FileSummary, FileHistory, FileFaults, FileFinal, FileRun, FileResults}
	if p.Linearization {
		files = append(files, FileLinearizable)
	}
	for _, f := range files {
		fmt.Fprintf(b, "<li><a href=\"%s\">%s</a></li>\n", f, f)
	}
	for _, name := range p.Logs {
		fmt.Fprintf(b, "<li><a href=\"%s/%s.log\">log of %s</a></li>\n", DirLogs, esc(name), esc(name))
	}
	b.WriteString("</ul>\n")
}
