package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A transaction's latency broken down by the timers in the code (the
// processes' Prometheus histograms), never by estimate: each stage is the
// change in a histogram's sum over the change in its count across the
// measurement window, i.e. the mean time of that stage per observation.
// The driver's own mean latency closes the sum at the top.

// timer is the sum and count of one histogram series.
type timer struct{ sum, count float64 }

// scrape maps "metric" or "metric/label-value" to a timer, for one process.
type scrape map[string]timer

// timedMetrics are the histograms the breakdown reads, and the label that
// tells their series apart ("" for one series).
var timedMetrics = map[string]string{
	"arbiter_commit_call_seconds":      "",
	"arbiter_phase_seconds":            "phase",
	"arbiter_raft_commit_seconds":      "",
	"arbiter_raft_log_write_seconds":   "",
	"arbiter_raft_fsm_apply_seconds":   "",
	"arbiter_participant_step_seconds": "step",
}

// scrapeTimers reads the timed histograms from a process's /metrics.
func scrapeTimers(ctx context.Context, addr string) (scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", addr, resp.Status)
	}
	return parseTimers(resp.Body)
}

func parseTimers(r io.Reader) (scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	out := scrape{}
	for name, label := range timedMetrics {
		mf, ok := fams[name]
		if !ok {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					key += "/" + l.GetValue()
				}
			}
			h := m.GetHistogram()
			out[key] = timer{sum: h.GetSampleSum(), count: float64(h.GetSampleCount())}
		}
	}
	return out, nil
}

// meanMillis is the mean of key's observations between two scrapes of
// the given processes (pooled), in ms; ok is false when none happened.
func meanMillis(before, after map[string]scrape, procs []string, key string) (float64, bool) {
	var sum, n float64
	for _, p := range procs {
		a, b := after[p][key], before[p][key]
		sum += a.sum - b.sum
		n += a.count - b.count
	}
	if n <= 0 {
		return 0, false
	}
	return 1000 * sum / n, true
}

// stage is one line of the breakdown: a mean in ms per observation.
type stage struct {
	Name   string  `json:"name"`
	Depth  int     `json:"depth"` // 0: the whole transaction; deeper lines are parts of the line above
	Millis float64 `json:"ms"`
	// Source says which timer (or which difference of timers) it is.
	Source string `json:"source"`
}

// breakdown computes the stages of a step on an Arbiter system from the
// scrapes at the edges of its window and the driver's mean latency.
// Derived lines (differences) are marked so in Source; a stage whose timer
// saw nothing in the window (for instance decide in parallel commit,
// which answers before its decision is written) is left out.
func breakdown(before, after map[string]scrape, leader string, followers, parts []string, clientMean float64) []stage {
	one := []string{leader}
	get := func(procs []string, key string) (float64, bool) { return meanMillis(before, after, procs, key) }
	var out []stage
	add := func(depth int, name, src string, v float64) {
		out = append(out, stage{Name: name, Depth: depth, Millis: v, Source: src})
	}
	add(0, "transaction, as the client saw it", "driver: mean latency of committed transactions", clientMean)
	call, okCall := get(one, "arbiter_commit_call_seconds")
	if !okCall {
		return out
	}
	add(1, "client <-> leader (gRPC, client SDK)", "driver mean - leader's arbiter_commit_call_seconds", clientMean-call)
	add(1, "leader: Commit call, arrival to answer", "arbiter_commit_call_seconds", call)
	prep, okPrep := get(one, "arbiter_phase_seconds/prepare")
	decide, okDecide := get(one, "arbiter_phase_seconds/decide")
	if okPrep {
		add(2, "prepare round (all votes in)", "arbiter_phase_seconds{phase=prepare}", prep)
		if pp, ok := get(parts, "arbiter_participant_step_seconds/prepare"); ok {
			add(3, "participant: Prepare, arrival to vote", "arbiter_participant_step_seconds{step=prepare}", pp)
			if d, ok := get(parts, "arbiter_participant_step_seconds/prepare_durable"); ok {
				add(4, "durable prepare (Resource.Prepare)", "arbiter_participant_step_seconds{step=prepare_durable}", d)
			}
			add(3, "RPC, batching and waiting for the slower participant", "prepare round - participant Prepare", prep-pp)
		}
	}
	if okDecide {
		add(2, "decide (propose until applied)", "arbiter_phase_seconds{phase=decide}", decide)
	} else {
		add(2, "no decide on the answer's path: Raft entries (STAGE) alongside the prepare round", "arbiter_phase_seconds{phase=decide} saw nothing", 0)
	}
	if rc, ok := get(one, "arbiter_raft_commit_seconds"); ok {
		add(3, "Raft commit of one entry (every proposal)", "arbiter_raft_commit_seconds", rc)
		lw, okLW := get(one, "arbiter_raft_log_write_seconds")
		ap, okAp := get(one, "arbiter_raft_fsm_apply_seconds")
		if okLW {
			add(4, "leader log write (before sending)", "leader's arbiter_raft_log_write_seconds", lw)
		}
		if okLW && okAp {
			add(4, "replication: AppendEntries + follower log write + commit notice", "Raft commit - leader write - apply", rc-lw-ap)
			if fw, ok := get(followers, "arbiter_raft_log_write_seconds"); ok {
				add(5, "follower log write", "followers' arbiter_raft_log_write_seconds", fw)
			}
		}
		if okAp {
			add(4, "FSM apply", "arbiter_raft_fsm_apply_seconds", ap)
		}
	}
	rest := call
	if okPrep {
		rest -= prep
	}
	if okDecide {
		rest -= decide
	}
	add(2, "rest of the call (routing, set-up, answer; parallel: STAGE past the votes)",
		"Commit call - prepare round - decide", rest)
	return out
}

// clientMeanMillis is the mean of the committed transactions' latencies.
func clientMeanMillis(lat []time.Duration) float64 {
	if len(lat) == 0 {
		return 0
	}
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	return millis(sum) / float64(len(lat))
}

// printBreakdowns writes the breakdown of every Arbiter series at
// concurrency 1 and at its best concurrency.
func printBreakdowns(w io.Writer, r *report) {
	fmt.Fprintln(w, "\nWhere the time goes: mean ms per observation from the processes' own timers (Prometheus histograms, sum/count over the window).")
	for _, s := range r.Steps {
		if len(s.Breakdown) == 0 || (s.Concurrency != 1 && s.Concurrency != r.Best[s.System]) {
			continue
		}
		fmt.Fprintf(w, "\n%s, concurrency %d (p50 %.2f ms, %.0f tx/s)\n", s.System, s.Concurrency, s.P50Millis, s.TxPerSec)
		for _, st := range s.Breakdown {
			fmt.Fprintf(w, "  %-76s %8.3f ms  [%s]\n", strings.Repeat("  ", st.Depth)+st.Name, st.Millis, st.Source)
		}
		if len(s.CPUByProcess) > 0 {
			fmt.Fprintf(w, "  CPU ms/tx by process:%s\n", cpuLine(s.CPUByProcess))
		}
	}
}

func cpuLine(by map[string]float64) string {
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s %.3f", n, by[n])
	}
	return b.String()
}
