package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
)

// step is one measurement: a system at one concurrency and branch count.
type step struct {
	flow                  flow
	concurrency, branches int
	warmup, measure       time.Duration
	profileDir            string // non-empty: take CPU profiles while measuring (profile.go)
}

// stepResult is one row of the report.
type stepResult struct {
	System      string  `json:"system"`
	Concurrency int     `json:"concurrency"`
	Branches    int     `json:"branches"`
	Seconds     float64 `json:"seconds"`
	Committed   int     `json:"committed"`
	Aborted     int     `json:"aborted"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	TxPerSec    float64 `json:"tx_per_sec"`
	P50Millis   float64 `json:"p50_ms"`
	P99Millis   float64 `json:"p99_ms"`
	P999Millis  float64 `json:"p999_ms"`
	// CPUSecondsPerTx sums every process's CPU time, the driver's included.
	CPUSecondsPerTx float64 `json:"cpu_seconds_per_tx"`
	// LogEntriesPerTx and FsyncsPerTx come from the leader's Raft log
	// counters (FsyncsPerTx: appends × fsyncsPerAppend of its store); null
	// for the floor or when the leader changed mid-step.
	LogEntriesPerTx *float64 `json:"log_entries_per_tx"`
	FsyncsPerTx     *float64 `json:"fsyncs_per_tx"`
	// CoordRSSBytes is the (leading) coordinator's VmRSS after the step.
	CoordRSSBytes uint64 `json:"coord_rss_bytes"`
	// VsFloor is TxPerSec divided by the floor's at the same concurrency.
	VsFloor *float64   `json:"vs_floor,omitempty"`
	CDF     []cdfPoint `json:"latency_cdf"`
	// Breakdown is where a transaction's time went, from the processes'
	// timers (breakdown.go); absent for the floor or when the leader
	// changed mid-step.
	Breakdown []stage `json:"breakdown,omitempty"`
	// CPUByProcess is CPU ms per committed transaction of each process, by
	// role: leader, follower-<name>, each participant, driver.
	CPUByProcess map[string]float64 `json:"cpu_ms_per_tx_by_process,omitempty"`
}

// sample is the counters read at the edges of the measurement window.
type sample struct {
	at          time.Time
	cpu         float64
	cpuBy       map[string]float64 // process name ("driver" for this one) -> CPU seconds
	timers      map[string]scrape  // process name -> its timers (Arbiter only)
	leader      string
	entries     uint64
	writes      uint64
	haveCounter bool
}

func takeSample(ctx context.Context, s *system) (sample, error) {
	sm := sample{}
	if l, info, err := s.leader(ctx); err == nil {
		sm.leader = l.Name
		sm.entries, sm.writes, sm.haveCounter = info.GetLogEntries(), info.GetLogWrites(), info != nil
	}
	sm.timers = map[string]scrape{}
	for name, addr := range s.metrics {
		t, err := scrapeTimers(ctx, addr)
		if err != nil {
			return sm, fmt.Errorf("%s: %w", name, err)
		}
		sm.timers[name] = t
	}
	sm.cpuBy = map[string]float64{}
	for _, p := range append([]*localcluster.Proc{nil}, s.all()...) {
		name, pid := "driver", 0
		if p != nil {
			name, pid = p.Name, p.Pid()
		}
		c, err := cpuSeconds([]int{pid})
		if err != nil {
			return sm, err
		}
		sm.cpuBy[name] = c
		sm.cpu += c
	}
	sm.at = time.Now()
	return sm, nil
}

// cpuByRole is each process's CPU ms per committed transaction, named by
// its role in the window: leader, follower-<name>, the participants by
// name, driver.
func cpuByRole(s *system, before, after sample, committed float64) map[string]float64 {
	out := map[string]float64{}
	for name, c := range after.cpuBy {
		role := name
		if slices.ContainsFunc(s.coords, func(p *localcluster.Proc) bool { return p.Name == name }) && s.cluster != nil {
			role = "follower-" + name
			if name == after.leader {
				role = "leader"
			}
		}
		out[role] = 1000 * (c - before.cpuBy[name]) / committed
	}
	return out
}

// runStep drives s closed-loop at st's concurrency and measures it.
func runStep(ctx context.Context, s *system, st step) (stepResult, error) {
	cli, err := newClient(s.clientAddrs(ctx))
	if err != nil {
		return stepResult{}, err
	}
	defer cli.Close()
	d := &driver{cli: cli, parts: s.partIDs(), branches: st.branches, flow: st.flow,
		tag: fmt.Sprintf("%s-f%d-c%d-b%d-%d", s.name, st.flow, st.concurrency, st.branches, time.Now().UnixNano())}
	d.start(ctx, st.concurrency)
	defer d.stop()
	backoff.Sleep(ctx, st.warmup)
	before, err := takeSample(ctx, s)
	if err != nil {
		return stepResult{}, err
	}
	d.phase.Store(phaseMeasure)
	profiled := profileStep(ctx, s, st, st.profileDir, st.measure)
	backoff.Sleep(ctx, st.measure)
	d.phase.Store(phaseStop)
	if err := profiled(); err != nil {
		progress("profiling: %v", err)
	}
	after, err := takeSample(ctx, s)
	if err != nil {
		return stepResult{}, err
	}
	d.stop()
	if ctx.Err() != nil {
		return stepResult{}, ctx.Err()
	}
	return result(ctx, s, st, &d.tally, before, after), nil
}

// result turns the tally and the two samples into a report row.
func result(ctx context.Context, s *system, st step, t *tally, before, after sample) stepResult {
	secs := after.at.Sub(before.at).Seconds()
	r := stepResult{System: s.name + st.flow.suffix(), Concurrency: st.concurrency, Branches: st.branches, Seconds: secs,
		Committed: t.committed, Aborted: t.aborted, Errors: t.errors, FirstError: t.firstErr,
		TxPerSec: float64(t.committed) / secs}
	lat := sortedCopy(t.lat)
	r.P50Millis, r.P99Millis, r.P999Millis = millis(percentile(lat, 50)), millis(percentile(lat, 99)), millis(percentile(lat, 99.9))
	r.CDF = cdf(lat, 200)
	if t.committed > 0 {
		n := float64(t.committed)
		r.CPUSecondsPerTx = (after.cpu - before.cpu) / n
		if before.haveCounter && after.haveCounter && before.leader == after.leader {
			e, w := float64(after.entries-before.entries)/n, float64(after.writes-before.writes)*fsyncsPerAppend(s.logStore)/n
			r.LogEntriesPerTx, r.FsyncsPerTx = &e, &w
		}
		r.CPUByProcess = cpuByRole(s, before, after, n)
		if len(s.metrics) > 0 && before.leader != "" && before.leader == after.leader {
			var followers []string
			for _, p := range s.coords {
				if p.Name != after.leader {
					followers = append(followers, p.Name)
				}
			}
			r.Breakdown = breakdown(before.timers, after.timers, after.leader, followers, s.partIDs(), clientMeanMillis(t.lat))
		}
	}
	if l, _, err := s.leader(ctx); err == nil {
		r.CoordRSSBytes, _ = rssBytes(l.Pid())
	}
	return r
}
