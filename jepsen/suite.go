package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/report"
	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

// suite runs plans one after another and keeps the matrix table.
type suite struct {
	out    string
	binDir string
	rows   []report.Row
}

func (s *suite) build(ctx context.Context) error {
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}
	dir, err := filepath.Abs(s.out)
	if err != nil {
		return err
	}
	s.out, s.binDir = dir, filepath.Join(dir, "bin")
	fmt.Println("jepsen: building binaries with -tags failpoints")
	return runner.Build(ctx, s.binDir)
}

func (s *suite) run(ctx context.Context, cfg runner.Config) error {
	cfg.Dir, cfg.BinDir = filepath.Join(s.out, cfg.Name), s.binDir
	_ = os.RemoveAll(cfg.Dir)
	cfg.Progress = func(line string) { fmt.Println("jepsen: " + line) }
	run, err := runner.Run(ctx, cfg)
	if err != nil {
		return err
	}
	results := append(check.All(run), runner.CheckFaults(run), runner.CheckAvailability(run))
	if run.Workload == runner.WorkloadRace {
		results = append(results, runner.CheckRaceCases(run))
	}
	logs := map[string]string{}
	for _, n := range []string{"n1", "n2", "n3", "bank1", "bank2", "bank3"} {
		logs[n] = filepath.Join(cfg.Dir, "nodes", n+".log")
	}
	reportDir := filepath.Join(cfg.Dir, "report")
	if err := report.Write(reportDir, run, results, logs); err != nil {
		fmt.Printf("jepsen: report incomplete: %v\n", err)
	}
	for _, r := range results {
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL"
		}
		fmt.Printf("jepsen:   %-19s %s (checked %d)\n", r.Name, verdict, r.Checked)
		for _, ev := range r.Evidence {
			fmt.Printf("jepsen:     %s\n", ev)
		}
	}
	fmt.Println("jepsen: " + report.SummaryLine(run, results) + "  report: " + filepath.Join(reportDir, report.FileIndex))
	s.rows = append(s.rows, report.NewRow(run, results))
	return nil
}

// finish prints the matrix table; the suite passes when no run found an
// anomaly.
func (s *suite) finish() bool {
	fmt.Println()
	fmt.Print(report.Table(s.rows))
	ok := true
	for _, r := range s.rows {
		ok = ok && r.Pass
	}
	return ok
}
