package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// --net passes through to every planned run; a value that names no mode
// is refused with the choices before anything starts.
func TestPlanNet(t *testing.T) {
	base := flags{workload: "bank", nemeses: "kill-leader", duration: time.Second, interval: time.Second, concurrency: 1}
	for _, mode := range []string{"", runner.NetNamespaces, runner.NetProxy} {
		f := base
		f.net = mode
		for _, matrix := range []string{"", "short"} {
			f.matrix = matrix
			runs, err := plan(f)
			if err != nil {
				t.Fatalf("--net %q --matrix %q: %v", mode, matrix, err)
			}
			for _, r := range runs {
				if r.Net != mode {
					t.Fatalf("--net %q --matrix %q: run %s has Net %q", mode, matrix, r.Name, r.Net)
				}
			}
		}
	}
	f := base
	f.net = "tun"
	if _, err := plan(f); err == nil || !strings.Contains(err.Error(), "want netns or proxy") {
		t.Fatalf("--net tun: got %v, want a refusal naming netns and proxy", err)
	}
}

// Both matrices: every planned run is valid; the short one injects every
// nemesis, each cell schedules no more nemeses than its duration has fault
// slots (so CheckFaults sees each injected), its workload time stays within
// CI's budget (nine 20 s cells), and both run the race workload in every
// commit mode whatever --commit-mode says.
func TestMatrices(t *testing.T) {
	f := flags{workload: "bank", duration: time.Second, interval: 5 * time.Second, concurrency: 6, commitMode: runner.CommitOneShot}
	for _, m := range []string{"short", "standard"} {
		f.matrix = m
		runs, err := plan(f)
		if err != nil {
			t.Fatal(err)
		}
		raceModes := map[string]bool{}
		var total time.Duration
		for _, r := range runs {
			r.Dir, r.BinDir = t.TempDir(), t.TempDir()
			if err := r.Validate(); err != nil {
				t.Fatalf("%s %s: %v", m, r.Name, err)
			}
			if r.Workload == runner.WorkloadRace {
				raceModes[r.CommitMode] = true
			}
			scheduled := len(slices.DeleteFunc(slices.Clone(r.Nemeses), func(n string) bool { return n == runner.CrashPoints }))
			if slots := int(r.Duration / r.Interval); scheduled > slots-1 {
				t.Errorf("%s %s: %d nemeses in %d fault slots: the last may never be injected", m, r.Name, scheduled, slots)
			}
			total += r.Duration
		}
		for _, mode := range runner.CommitModes() {
			if !raceModes[mode] {
				t.Errorf("%s matrix: no race cell in commit mode %s", m, mode)
			}
		}
		partialModes := issue14Cells(runs)
		for _, kind := range []string{"partial", "one-way"} {
			want := 1
			if m == "standard" {
				want = len(runner.CommitModes())
			}
			if len(partialModes[kind]) < want {
				t.Errorf("%s matrix: %s cells in modes %v, want %d", m, kind, partialModes[kind], want)
			}
		}
		if m == "short" {
			if total > 9*shortCell {
				t.Errorf("short matrix: %v of workload, over CI's budget of %v", total, 9*shortCell)
			}
			coversEveryNemesis(t, runs)
		}
	}
}

func coversEveryNemesis(t *testing.T, runs []runner.Config) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range runs {
		for _, n := range r.Nemeses {
			seen[n] = true
		}
	}
	for _, n := range runner.Nemeses() {
		if !seen[n] {
			t.Errorf("short matrix never injects %s", n)
		}
	}
}

// --log-store passes through to every planned run of every matrix, so the
// standard matrix can be run on either store; an unknown store is refused
// with the choices before anything starts.
func TestPlanLogStore(t *testing.T) {
	base := flags{workload: "bank", nemeses: "kill-leader", duration: time.Second, interval: time.Second, concurrency: 1}
	for _, store := range []string{"", "boltdb", "wal"} {
		f := base
		f.logStore = store
		for _, matrix := range []string{"", "short", "standard"} {
			f.matrix = matrix
			runs, err := plan(f)
			if err != nil {
				t.Fatalf("--log-store %q --matrix %q: %v", store, matrix, err)
			}
			for _, r := range runs {
				if r.LogStore != store {
					t.Fatalf("--log-store %q --matrix %q: run %s has LogStore %q", store, matrix, r.Name, r.LogStore)
				}
			}
		}
	}
	f := base
	f.logStore = "rocksdb"
	if _, err := plan(f); err == nil || !strings.Contains(err.Error(), `--log-store "rocksdb": want one of boltdb, wal`) {
		t.Fatalf("--log-store rocksdb: got %v, want a refusal naming boltdb and wal", err)
	}
}

// The standard matrix ends with one cell on PostgreSQL and one on
// MariaDB, each on one database only; --postgres with --mysql is refused.
func TestStandardMatrixDatabaseCells(t *testing.T) {
	f := flags{workload: "bank", duration: time.Second, interval: 5 * time.Second, concurrency: 6, matrix: "standard"}
	runs, err := plan(f)
	if err != nil {
		t.Fatal(err)
	}
	pg, my := runs[len(runs)-2], runs[len(runs)-1]
	if !pg.Postgres || pg.MySQL || !strings.HasSuffix(pg.Name, "-postgres") {
		t.Fatalf("second-to-last cell %s: Postgres %v MySQL %v, want the PostgreSQL cell", pg.Name, pg.Postgres, pg.MySQL)
	}
	if my.Postgres || !my.MySQL || !strings.HasSuffix(my.Name, "-mysql") || my.Workload != "bank" {
		t.Fatalf("last cell %s: Postgres %v MySQL %v, want the MariaDB bank cell", my.Name, my.Postgres, my.MySQL)
	}
	for _, r := range runs[:len(runs)-2] {
		if r.Postgres || r.MySQL {
			t.Fatalf("cell %s runs on a database", r.Name)
		}
	}
	f.postgres, f.mysql = true, true
	if _, err := plan(f); err == nil || !strings.Contains(err.Error(), "choose one database") {
		t.Fatalf("--postgres --mysql: %v, want a refusal", err)
	}
}

// issue14Cells maps "partial" and "one-way" to the commit modes of the
// cells that inject only those faults (issue 14), whose availability the
// suite enforces; each such cell holds its faults past the checker's grace
// plus its bound.
func issue14Cells(runs []runner.Config) map[string]map[string]bool {
	out := map[string]map[string]bool{"partial": {}, "one-way": {}}
	for _, r := range runs {
		kind := ""
		switch {
		case slices.Equal(r.Nemeses, partialNemeses):
			kind = "partial"
		case slices.Equal(r.Nemeses, oneWayNemeses):
			kind = "one-way"
		default:
			continue
		}
		if r.Hold <= runner.AvailabilityGrace()+runner.AvailabilityBound {
			continue
		}
		mode := r.CommitMode
		if mode == "" {
			mode = runner.CommitStandard
		}
		out[kind][mode] = true
	}
	return out
}

// restart-broker needs the events workload, the only one with a broker:
// elsewhere it is refused before anything starts.
func TestRestartBrokerNeedsEventsWorkload(t *testing.T) {
	c := runner.Config{Workload: runner.WorkloadBank, Nemeses: []string{runner.RestartBroker}, Duration: time.Second,
		Concurrency: 1, Dir: t.TempDir(), BinDir: t.TempDir()}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "needs the events workload") {
		t.Fatalf("restart-broker with the bank workload: %v, want a refusal", err)
	}
	c.Workload = runner.WorkloadEvents
	if err := c.Validate(); err != nil {
		t.Fatalf("restart-broker with the events workload: %v", err)
	}
}

// The events workload runs on loopback, whatever the environment says:
// its broker listens in the runner's own namespace.
func TestEventsWorkloadRunsOnLoopback(t *testing.T) {
	t.Setenv(runner.NetEnv, runner.NetNamespaces)
	c := runner.Config{Workload: runner.WorkloadEvents, Nemeses: []string{"partition-leader"}}
	if mode, err := c.NetMode(); err != nil || mode != runner.NetProxy {
		t.Fatalf("events workload: mode %q, %v; want %s", mode, err, runner.NetProxy)
	}
	c.Net = runner.NetNamespaces
	if _, err := c.NetMode(); err == nil || !strings.Contains(err.Error(), "runs on loopback") {
		t.Fatalf("--net netns with the events workload: %v, want a refusal", err)
	}
}
