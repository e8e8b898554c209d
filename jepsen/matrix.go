package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/runner"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// plan turns the flags into the runs to do.
func plan(f flags) ([]runner.Config, error) {
	base := runner.Config{Duration: f.duration, Interval: f.interval, Hold: f.hold, Concurrency: f.concurrency, Seed: f.seed, Broken: f.broken,
		Postgres: f.postgres, MySQL: f.mysql, CommitMode: f.commitMode, Net: f.net, UniquenessWindow: f.window, LogStore: f.logStore}
	if f.postgres && f.mysql {
		return nil, fmt.Errorf("--postgres and --mysql both set: choose one database for the banks")
	}
	if f.net != "" && f.net != runner.NetNamespaces && f.net != runner.NetProxy {
		return nil, fmt.Errorf("--net %q: want %s or %s", f.net, runner.NetNamespaces, runner.NetProxy)
	}
	if f.logStore != "" && !slices.Contains(raftlog.LogStores(), f.logStore) {
		return nil, fmt.Errorf("--log-store %q: want one of %s", f.logStore, strings.Join(raftlog.LogStores(), ", "))
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
		pg.Postgres, pg.MySQL = true, false
		my := base
		my.Postgres, my.MySQL = false, true
		extra := append(matrix(pg, standardPostgresMatrix, standardCell), matrix(my, standardMySQLMatrix, standardCell)...)
		for _, r := range extra {
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
	mode     string        // commit mode; "" keeps --commit-mode
	hold     time.Duration // how long each fault holds; 0 keeps the default (half the interval)
}

// partialHold is how long the partial-partition and one-way cells hold
// each fault: long enough that the availability checker's window (the
// hold less its grace of about 0.75 s) exceeds its 3 s bound, so a cluster
// that never hands leadership over fails it; short enough that three
// faults fit a 20 s cell at the default 5 s interval.
const partialHold = 4 * time.Second

// The issue-14 cells: the leader cut from the participants (both ways, and
// from one), and one-way cuts (leader -> participants, the reverse, one
// follower -> leader). Availability is enforced on them.
var (
	partialNemeses = []string{runner.PartitionLeaderParticipants, "partition-leader-participant"}
	oneWayNemeses  = []string{"oneway-leader-participants", "oneway-participants-leader", "oneway-follower-leader"}
)

// shortMatrix runs every nemesis at least once, and the race workload in
// every commit mode (CI; about 5 minutes, 3.6 measured on 2 cores). A cell
// schedules at most three nemeses besides crash-points: with 20 s cells
// and 5 s between fault starts, each is injected at least once. To make
// room for the partial-partition and one-way cells within CI's nine-cell
// budget, the parallel bank cell took the coordinator partitions and the
// status workload kept one cell (it had two). The events cell (the outbox
// participant, its process killed, the broker restarted) took the first
// cell's place; kill-follower and kill-coordinators, which only that cell
// ran, moved to race cells with a free fault slot.
var shortMatrix = []cell{
	{runner.WorkloadEvents, []string{"kill-participant", "kill-leader", runner.RestartBroker}, "", 0},
	{"bank", []string{"pause-leader", "latency", "loss"}, "", 0},
	{"bank", []string{"partition-leader", "partition-halves", "partition-ring", runner.CrashPoints}, runner.CommitParallel, 0},
	{"status", []string{"kill-leader", "partition-participant", "kill-leader-participant"}, runner.CommitParallel, 0},
	{"bank", partialNemeses, "", partialHold},
	{"bank", oneWayNemeses, "", partialHold},
	{"race", []string{runner.CrashPoints, "kill-leader", "kill-follower"}, runner.CommitStandard, 0},
	{"race", []string{runner.CrashPoints, "kill-participant", "partition-leader", "kill-coordinators"}, runner.CommitOneShot, 0},
	{"race", []string{runner.CrashPoints, "kill-leader", "pause-leader"}, runner.CommitParallel, 0},
}

// standardMatrix: each nemesis family against every workload, longer; the
// partial-partition and one-way cells in every commit mode.
var standardMatrix = []cell{
	{"bank", nil, "", 0},
	{"bank", []string{"kill-leader", "kill-follower", "kill-participant"}, "", 0},
	{"status", []string{"kill-leader", "kill-coordinators"}, "", 0},
	{"bank", []string{"pause-leader"}, "", 0},
	{"status", []string{"pause-leader", "kill-participant"}, "", 0},
	{"bank", []string{"partition-leader", "partition-halves", "partition-ring"}, "", 0},
	{"status", []string{"partition-leader", "partition-ring"}, "", 0},
	{"bank", []string{"partition-leader-participant", "partition-participant"}, "", 0},
	{"bank", []string{"latency", "loss", "kill-leader"}, "", 0},
	{"bank", []string{runner.CrashPoints}, "", 0},
	{"status", []string{runner.CrashPoints, "partition-halves"}, "", 0},
	{"bank", []string{"kill-leader", "kill-participant", "partition-leader"}, runner.CommitParallel, 0},
	{"status", []string{"pause-leader", "partition-participant", runner.CrashPoints}, runner.CommitParallel, 0},
	{"bank", []string{"kill-leader", "latency"}, runner.CommitOneShot, 0},
	{"race", []string{runner.CrashPoints, "kill-leader"}, runner.CommitStandard, 0},
	{"race", []string{runner.CrashPoints, "partition-participant", "pause-leader"}, runner.CommitOneShot, 0},
	{"race", []string{runner.CrashPoints, "kill-participant", "partition-leader-participant"}, runner.CommitParallel, 0},
	{"bank", partialNemeses, runner.CommitStandard, partialHold},
	{"bank", partialNemeses, runner.CommitOneShot, partialHold},
	{"bank", partialNemeses, runner.CommitParallel, partialHold},
	{"bank", oneWayNemeses, runner.CommitStandard, partialHold},
	{"bank", oneWayNemeses, runner.CommitOneShot, partialHold},
	{"bank", oneWayNemeses, runner.CommitParallel, partialHold},
	{runner.WorkloadEvents, []string{"kill-participant", "kill-leader", runner.RestartBroker}, "", 0},
}

// standardPostgresMatrix is added to the standard matrix, with the banks on
// PostgreSQL (runner.Config.Postgres; --postgres puts every cell there).
var standardPostgresMatrix = []cell{
	{"bank", []string{"kill-participant", "kill-leader"}, "", 0},
}

// standardMySQLMatrix is added to the standard matrix after the
// PostgreSQL cell, with the banks on MariaDB over XA
// (runner.Config.MySQL; --mysql puts every cell there).
var standardMySQLMatrix = []cell{
	{"bank", []string{"kill-participant", "kill-leader"}, "", 0},
}

func matrix(base runner.Config, cells []cell, d time.Duration) []runner.Config {
	var out []runner.Config
	for i, c := range cells {
		r := base
		r.Workload, r.Nemeses, r.Duration = c.workload, c.nemeses, d
		if c.hold > 0 {
			r.Hold = c.hold
		}
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
	if c.MySQL {
		n += "-mysql"
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
