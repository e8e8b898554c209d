package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

// plan turns the flags into the runs to do.
func plan(f flags) ([]runner.Config, error) {
	base := runner.Config{Duration: f.duration, Interval: f.interval, Concurrency: f.concurrency, Seed: f.seed, Broken: f.broken,
		Postgres: f.postgres, CommitMode: f.commitMode, Net: f.net, UniquenessWindow: f.window}
	if f.net != "" && f.net != runner.NetNamespaces && f.net != runner.NetProxy {
		return nil, fmt.Errorf("--net %q: want %s or %s", f.net, runner.NetNamespaces, runner.NetProxy)
	}
	switch f.matrix {
	case "":
		c := base
		c.Workload = f.workload
		if f.nemeses != "none" && f.nemeses != "" {
			c.Nemeses = strings.Split(f.nemeses, ",")
		}
		c.Name = name(c)
		return []runner.Config{c}, nil
	case "short":
		return matrix(base, shortMatrix, shortCell), nil
	case "standard":
		runs := matrix(base, standardMatrix, standardCell)
		pg := base
		pg.Postgres = true
		for _, r := range matrix(pg, standardPostgresMatrix, standardCell) {
			n := len(runs) // number on after the other cells
			r.Seed = base.Seed + int64(n)
			r.Name = fmt.Sprintf("%02d-%s", n+1, name(r))
			runs = append(runs, r)
		}
		return runs, nil
	}
	return nil, fmt.Errorf("--matrix %q: want short or standard", f.matrix)
}

// The workload duration of each cell of the short and the standard matrix.
const (
	shortCell    = 20 * time.Second
	standardCell = 45 * time.Second
)

type cell struct {
	workload string
	nemeses  []string
	mode     string // commit mode; "" keeps --commit-mode
}

// shortMatrix runs every nemesis at least once, and the race workload in
// every commit mode (CI; about 5 minutes, 3.6 measured on 2 cores). A cell
// schedules at most three nemeses besides crash-points: with 20 s cells
// and 5 s between fault starts, each is injected at least once.
//
// The events cell (the outbox participant, its process killed, the broker
// restarted) took the first cell's place; kill-follower and
// kill-coordinators, which only that cell ran, moved to cells with a free
// fault slot (the standard race cell and the parallel status cell).
var shortMatrix = []cell{
	{runner.WorkloadEvents, []string{"kill-participant", "kill-leader", runner.RestartBroker}, ""},
	{"bank", []string{"pause-leader", "latency", "loss"}, ""},
	{"bank", []string{"partition-leader", "partition-halves", "partition-ring"}, ""},
	{"status", []string{"partition-leader-participant", "partition-participant", "kill-leader"}, ""},
	{"bank", []string{"kill-leader", "partition-leader", runner.CrashPoints}, runner.CommitParallel},
	{"status", []string{"kill-leader", "partition-participant", "kill-coordinators"}, runner.CommitParallel},
	{"race", []string{runner.CrashPoints, "kill-leader", "kill-follower"}, runner.CommitStandard},
	{"race", []string{runner.CrashPoints, "kill-participant", "partition-leader"}, runner.CommitOneShot},
	{"race", []string{runner.CrashPoints, "kill-leader", "pause-leader"}, runner.CommitParallel},
}

// standardMatrix: each nemesis family against every workload, longer.
var standardMatrix = []cell{
	{"bank", nil, ""},
	{"bank", []string{"kill-leader", "kill-follower", "kill-participant"}, ""},
	{"status", []string{"kill-leader", "kill-coordinators"}, ""},
	{"bank", []string{"pause-leader"}, ""},
	{"status", []string{"pause-leader", "kill-participant"}, ""},
	{"bank", []string{"partition-leader", "partition-halves", "partition-ring"}, ""},
	{"status", []string{"partition-leader", "partition-ring"}, ""},
	{"bank", []string{"partition-leader-participant", "partition-participant"}, ""},
	{"bank", []string{"latency", "loss", "kill-leader"}, ""},
	{"bank", []string{runner.CrashPoints}, ""},
	{"status", []string{runner.CrashPoints, "partition-halves"}, ""},
	{"bank", []string{"kill-leader", "kill-participant", "partition-leader"}, runner.CommitParallel},
	{"status", []string{"pause-leader", "partition-participant", runner.CrashPoints}, runner.CommitParallel},
	{"bank", []string{"kill-leader", "latency"}, runner.CommitOneShot},
	{"race", []string{runner.CrashPoints, "kill-leader"}, runner.CommitStandard},
	{"race", []string{runner.CrashPoints, "partition-participant", "pause-leader"}, runner.CommitOneShot},
	{"race", []string{runner.CrashPoints, "kill-participant", "partition-leader-participant"}, runner.CommitParallel},
	{runner.WorkloadEvents, []string{"kill-participant", "kill-leader", runner.RestartBroker}, ""},
}

// standardPostgresMatrix is added to the standard matrix, with the banks on
// PostgreSQL (runner.Config.Postgres; --postgres puts every cell there).
var standardPostgresMatrix = []cell{
	{"bank", []string{"kill-participant", "kill-leader"}, ""},
}

func matrix(base runner.Config, cells []cell, d time.Duration) []runner.Config {
	var out []runner.Config
	for i, c := range cells {
		r := base
		r.Workload, r.Nemeses, r.Duration = c.workload, c.nemeses, d
		if c.mode != "" {
			r.CommitMode = c.mode
		}
		r.Seed = base.Seed + int64(i)
		r.Name = fmt.Sprintf("%02d-%s", i+1, name(r))
		out = append(out, r)
	}
	return out
}

func name(c runner.Config) string {
	n := c.Workload + "-" + strings.Join(c.Nemeses, "+")
	if len(c.Nemeses) == 0 {
		n = c.Workload + "-no-faults"
	}
	if c.Postgres {
		n += "-postgres"
	}
	if c.CommitMode != "" && c.CommitMode != runner.CommitStandard {
		n += "-" + c.CommitMode
	}
	if c.Broken != "" {
		n += "-BROKEN-" + c.Broken
	}
	return n
}
