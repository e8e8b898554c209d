package runner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/jepsen/runner"
	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
)

// The bank workload with every bank on MariaDB (XA), participants
// SIGKILLed and restarted: every checker passes, and the participants'
// outcomes are read back from the adapter's arbiter_outcomes tables.
func TestMySQLBanksSurviveKillParticipant(t *testing.T) {
	if testing.Short() {
		t.Skip("process cluster on three MariaDB servers; skipped with -short")
	}
	cfg := runner.Config{Name: t.Name(), Workload: "bank", Nemeses: []string{"kill-participant"},
		Duration: 10 * time.Second, Interval: 3 * time.Second, Concurrency: 4, Seed: 12,
		Dir: t.TempDir(), BinDir: binDir, MySQL: true, Progress: func(s string) { t.Log(s) }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := runner.Run(ctx, cfg)
	if errors.Is(err, runner.ErrNoMySQL) {
		mysqltest.Unavailable(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	requireFault(t, run, "kill-participant")
	requireCommits(t, run)
	requirePass(t, check.All(run))
	committed := 0
	for _, bank := range []string{"bank1", "bank2", "bank3"} {
		if len(run.Final.ParticipantOutcomes[bank]) == 0 {
			t.Errorf("no outcomes collected from %s's MariaDB", bank)
		}
		for _, o := range run.Final.ParticipantOutcomes[bank] {
			if o == history.OutcomeCommit {
				committed++
			}
		}
	}
	if committed == 0 {
		t.Error("no committed outcome collected from MariaDB")
	}
}
