package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

// plan turns the flags into the runs to do.
func plan(f flags) ([]runner.Config, error) {
	base := runner.Config{Duration: f.duration, Interval: f.interval, Concurrency: f.concurrency, Seed: f.seed, Broken: f.broken}
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
		return matrix(base, shortMatrix, 20*time.Second), nil
	case "standard":
		return matrix(base, standardMatrix, 45*time.Second), nil
	}
	return nil, fmt.Errorf("--matrix %q: want short or standard", f.matrix)
}

type cell struct {
	workload string
	nemeses  []string
}

// shortMatrix runs every nemesis at least once (CI, about 5 minutes).
var shortMatrix = []cell{
	{"bank", []string{"kill-leader", "kill-participant"}},
	{"bank", []string{"kill-follower", "kill-coordinators"}},
	{"bank", []string{"pause-leader", "latency", "loss"}},
	{"bank", []string{"partition-leader", "partition-halves", "partition-ring"}},
	{"status", []string{"partition-leader-participant", "partition-participant", "kill-leader"}},
	{"bank", []string{runner.CrashPoints, "kill-leader"}},
}

// standardMatrix: each nemesis family against both workloads, longer.
var standardMatrix = []cell{
	{"bank", nil},
	{"bank", []string{"kill-leader", "kill-follower", "kill-participant"}},
	{"status", []string{"kill-leader", "kill-coordinators"}},
	{"bank", []string{"pause-leader"}},
	{"status", []string{"pause-leader", "kill-participant"}},
	{"bank", []string{"partition-leader", "partition-halves", "partition-ring"}},
	{"status", []string{"partition-leader", "partition-ring"}},
	{"bank", []string{"partition-leader-participant", "partition-participant"}},
	{"bank", []string{"latency", "loss", "kill-leader"}},
	{"bank", []string{runner.CrashPoints}},
	{"status", []string{runner.CrashPoints, "partition-halves"}},
}

func matrix(base runner.Config, cells []cell, d time.Duration) []runner.Config {
	var out []runner.Config
	for i, c := range cells {
		r := base
		r.Workload, r.Nemeses, r.Duration = c.workload, c.nemeses, d
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
	if c.Broken != "" {
		n += "-BROKEN-" + c.Broken
	}
	return n
}
