package report

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

func sampleRun() *history.Run {
	ms := time.Millisecond
	return &history.Run{
		Name: "bank-partition", Workload: "bank", Nemeses: []string{"partition", "kill"}, Seed: 7,
		Duration: 3 * time.Second,
		Ops: []history.Op{
			{Index: 0, Kind: history.KindTransfer, TxID: "t1", Start: 10 * ms, End: 25 * ms, Outcome: history.OutcomeCommit},
			{Index: 1, Kind: history.KindTransfer, TxID: "t2", Start: 1100 * ms, End: 1900 * ms, Outcome: history.OutcomeAbort},
			{Index: 2, Kind: history.KindRead, TxID: "t3", Start: 1200 * ms, End: 2200 * ms, Outcome: history.OutcomeUnknown},
			{Index: 3, Kind: history.KindStatus, TxID: "t1", Start: 2500 * ms, End: 2501 * ms, Outcome: history.OutcomeCommit, Status: "COMMITTED"},
		},
		Faults: []history.Fault{
			{Kind: "partition", Targets: []string{"n1"}, Start: time.Second, End: 2 * time.Second, Detail: "n1 | n2 n3"},
			{Kind: "kill", Targets: []string{"bank-a"}, Start: 1500 * ms, End: 0},
		},
		Final: history.Final{Expected: 200, Balances: map[string]int64{"a": 100, "b": 100}, FinalTxOK: true},
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	logSrc := filepath.Join(t.TempDir(), "n1.log")
	if err := os.WriteFile(logSrc, []byte("hello from n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := sampleRun()
	run.LogStore = "wal"
	results := check.All(run)
	if err := Write(dir, run, results, map[string]string{"n1": logSrc}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileHistory, FileFaults, FileFinal, FileRun, FileResults, FileSummary,
		FileIndex, FileLinearizable, "logs/n1.log"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	index := read(t, dir, FileIndex)
	for _, want := range append([]string{"<svg", "<polyline", "partition", "logs/n1.log", "<td>log store</td><td>wal</td>"}, names(results)...) {
		if !strings.Contains(index, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	summary := read(t, dir, FileSummary)
	for _, want := range append([]string{"seed      7", "log store wal", "transfer", "n1 | n2 n3"}, names(results)...) {
		if !strings.Contains(summary, want) {
			t.Errorf("summary.txt lacks %q", want)
		}
	}
	checkHistory(t, dir, run)
	if rj := read(t, dir, FileRun); strings.Contains(rj, `"ops"`) || !strings.Contains(rj, `"log_store": "wal"`) && !strings.Contains(rj, `"log_store":"wal"`) {
		t.Errorf("run.json holds the ops, or not the log store:\n%.300s", rj)
	}
}

func checkHistory(t *testing.T, dir string, run *history.Run) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, FileHistory))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ops []history.Op
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var op history.Op
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	if len(ops) != len(run.Ops) || ops[2].Outcome != history.OutcomeUnknown {
		t.Fatalf("history.jsonl round trip: got %+v", ops)
	}
}

func TestWriteReportsMissingLog(t *testing.T) {
	dir := t.TempDir()
	err := Write(dir, sampleRun(), nil, map[string]string{"n2": filepath.Join(dir, "absent.log")})
	if err == nil || !strings.Contains(err.Error(), "n2") {
		t.Fatalf("got %v, want an error naming n2", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileIndex)); err != nil {
		t.Fatalf("index.html not written despite the log error: %v", err)
	}
}

func TestSummaryLineAndTable(t *testing.T) {
	run := sampleRun()
	results := []check.Result{{Name: "atomicity", Pass: true}, {Name: "liveness", Pass: false, Anomalies: 3},
		{Name: "durability", Pass: false, Anomalies: 2}, {Name: check.NameAvailability, Pass: true, Measure: 1234 * time.Millisecond}}
	line := SummaryLine(run, results)
	want := "FAIL bank-partition: 4 ops, 3 txns, committed 1, aborted 1, unknown 1, unavailable 1.23s, longest commit gap 2.48s, anomalies 5 in 2 failed checker(s)"
	if line != want {
		t.Fatalf("got  %q\nwant %q", line, want)
	}
	table := Table([]Row{NewRow(run, results), {Name: "calm", Workload: "status", Txns: 5, Committed: 5, Pass: true}})
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "partition+kill") || !strings.Contains(lines[3], "total (2 runs)") ||
		!strings.HasSuffix(lines[3], "FAIL") || !strings.HasSuffix(lines[2], "PASS") {
		t.Fatalf("table:\n%s", table)
	}
	if f := strings.Fields(lines[1]); f[len(f)-3] != "5" || f[len(f)-2] != "2" || f[len(f)-4] != "1.23" {
		t.Fatalf("UNAVAILABLE-S must show the availability measure (1.23), ANOMALIES count anomalies (5) and FAILED-CHECKERS checkers (2):\n%s", table)
	}
	if !strings.Contains(lines[0], "UNAVAILABLE-S") || !strings.Contains(lines[3], "1.23") {
		t.Fatalf("the header names UNAVAILABLE-S and the total shows the worst run:\n%s", table)
	}
}

func TestNiceStep(t *testing.T) {
	for in, want := range map[float64]float64{0.3: 0.5, 1: 1, 1.2: 2, 3: 5, 7: 10, 45: 50} {
		if got := niceStep(in); got != want {
			t.Errorf("niceStep(%g) = %g, want %g", in, got, want)
		}
	}
}

func names(results []check.Result) []string {
	var out []string
	for _, r := range results {
		out = append(out, r.Name)
	}
	return out
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
