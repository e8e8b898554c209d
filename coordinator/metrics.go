package coordinator

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Metrics are the coordinator's Prometheus metrics. A nil *Metrics records
// nothing, so tests and embedders that do not want metrics pass none.
type Metrics struct {
	outcomes *prometheus.CounterVec
	phase    *prometheus.HistogramVec
	retries  prometheus.Counter
	votes    *prometheus.CounterVec
	heur     *prometheus.CounterVec
	call     prometheus.Histogram
	// participant reachability (health.go) and leadership transfers (reach.go)
	reach     *prometheus.GaugeVec
	fast      *prometheus.CounterVec
	transfers *prometheus.CounterVec
	attempts  prometheus.Counter
	watchers  prometheus.Gauge
	wdrops    *prometheus.CounterVec
}

// NewMetrics registers the coordinator's metrics, and gauges read from the
// Raft node, on reg.
func NewMetrics(reg prometheus.Registerer, node *raftlog.Node) *Metrics {
	m := &Metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arbiter_transactions_total", Help: "Transactions decided by this node as leader, by outcome.",
		}, []string{"outcome"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "arbiter_phase_seconds", Help: "Latency of each 2PC phase on the leader: prepare (all votes in), decide (decision applied in Raft), phase2 (one participant acknowledged).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"phase"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "arbiter_phase2_retries_total", Help: "Phase-2 deliveries that failed and were retried.",
		}),
		votes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arbiter_votes_total", Help: "Participant votes received in phase 1 (no includes a participant that did not answer in time).",
		}, []string{"vote"}),
		heur: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arbiter_phase2_heuristic_outcomes_total", Help: "Phase-2 deliveries a participant refused with a heuristic outcome (rollback: COMMIT found its work rolled back; commit: ABORT found it committed), once per participant and phase-2 driver. Its data needs repair by hand.",
		}, []string{"kind"}),
		call: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "arbiter_commit_call_seconds", Help: "Time this node took to answer a Commit call, from its arrival to the answer (calls answered with an outcome; a follower's includes forwarding to the leader).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18), // 100 µs .. 13 s
		}),
		watchers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "arbiter_watchers", Help: "Watch streams this node is serving.",
		}),
		wdrops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arbiter_watchers_dropped_total", Help: "Watch streams this node cut off, by reason (slow: the watcher's buffer was full).",
		}, []string{"reason"}),
	}
	m.reach = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arbiter_participants", Help: "Registered participants as this node's health probe sees them, by state (reachable, down).",
	}, []string{"state"})
	m.fast = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arbiter_prepare_fail_fast_total", Help: "Prepares answered at once for a participant the leader's health view says is down, by participant.",
	}, []string{"participant"})
	m.transfers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arbiter_leadership_transfers_total", Help: "Leadership transfers this node started because a follower reaches more participants, by result (ok, failed).",
	}, []string{"result"})
	m.attempts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "arbiter_leadership_transfer_attempts_total", Help: "Leadership transfers this node began (counted at the start; arbiter_leadership_transfers_total counts them when they end).",
	})
	m.wdrops.WithLabelValues("slow")
	reg.MustRegister(m.outcomes, m.phase, m.retries, m.votes, m.heur, m.call, m.watchers, m.wdrops, m.reach, m.fast, m.transfers, m.attempts)
	registerRaftGauges(reg, node)
	node.SetObserver(newRaftTimings(reg))
	return m
}

// raftTimings bridges the Raft node's timings (raftlog.Observer) to
// histograms.
type raftTimings struct {
	fsmApply, commit, logWrite prometheus.Histogram
}

func newRaftTimings(reg prometheus.Registerer) *raftTimings {
	t := &raftTimings{
		fsmApply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "arbiter_raft_fsm_apply_seconds", Help: "Time the FSM took to apply one Raft log entry, on this node.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 3, 14), // 1 µs .. 1.6 s
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "arbiter_raft_commit_seconds", Help: "Time from proposing an entry on the leader until it was committed and applied (successful proposals only).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100 µs .. 3.3 s
		}),
		logWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "arbiter_raft_log_write_seconds", Help: "Time one durable write of entries to this node's Raft log took (the write and its fsync); on the leader it precedes sending them to the followers.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16), // 50 µs .. 1.6 s
		}),
	}
	reg.MustRegister(t.fsmApply, t.commit, t.logWrite)
	return t
}

func (t *raftTimings) ObserveFSMApply(d time.Duration) { t.fsmApply.Observe(d.Seconds()) }

func (t *raftTimings) ObserveCommit(d time.Duration) { t.commit.Observe(d.Seconds()) }

func (t *raftTimings) ObserveLogWrite(d time.Duration) { t.logWrite.Observe(d.Seconds()) }

func registerRaftGauges(reg prometheus.Registerer, node *raftlog.Node) {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		gauge("arbiter_in_doubt", "Transactions in this node's table: undecided, or decided with phase 2 unfinished.", func() float64 {
			a, u := node.FSM().Counts()
			return float64(a + u)
		}),
		gauge("arbiter_raft_term", "Current Raft term.", func() float64 { return float64(node.Term()) }),
		gauge("arbiter_raft_applied_index", "Last log index applied to the FSM.", func() float64 { return float64(node.FSM().AppliedIndex()) }),
		gauge("arbiter_raft_is_leader", "1 if this node leads.", func() float64 { return b2f(node.IsLeader()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arbiter_raft_leader_changes_total", Help: "Leader changes this node observed."},
			func() float64 { return float64(node.LeaderChangeCount()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arbiter_raft_log_writes_total", Help: "Durable Raft log appends (two fdatasyncs each on --log-store boltdb, one fsync on wal)."},
			func() float64 { return float64(node.Stats().LogWrites) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arbiter_raft_log_entries_total", Help: "Raft log entries written."},
			func() float64 { return float64(node.Stats().LogEntries) }),
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *Metrics) decided(out arbiterpb.Outcome) {
	if m != nil {
		m.outcomes.WithLabelValues(outcomeLabel(out)).Inc()
	}
}

func (m *Metrics) observe(phase string, since time.Time) {
	if m != nil {
		m.phase.WithLabelValues(phase).Observe(time.Since(since).Seconds())
	}
}

func (m *Metrics) answeredCommit(since time.Time) {
	if m != nil {
		m.call.Observe(time.Since(since).Seconds())
	}
}

func (m *Metrics) retried() {
	if m != nil {
		m.retries.Inc()
	}
}

func (m *Metrics) heuristic(kind string) {
	if m != nil {
		m.heur.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) vote(yes bool) {
	if m != nil {
		m.votes.WithLabelValues(map[bool]string{true: "yes", false: "no"}[yes]).Inc()
	}
}

func outcomeLabel(out arbiterpb.Outcome) string {
	switch out {
	case arbiterpb.Outcome_OUTCOME_COMMIT:
		return "commit"
	case arbiterpb.Outcome_OUTCOME_ABORT:
		return "abort"
	}
	return "unknown"
}

func (m *Metrics) reachable(up, total int) {
	if m != nil {
		m.reach.WithLabelValues("reachable").Set(float64(up))
		m.reach.WithLabelValues("down").Set(float64(total - up))
	}
}

func (m *Metrics) failedFast(pid string) {
	if m != nil {
		m.fast.WithLabelValues(pid).Inc()
	}
}

func (m *Metrics) transferBegun() {
	if m != nil {
		m.attempts.Inc()
	}
}

func (m *Metrics) transferred(ok bool) {
	if m != nil {
		m.transfers.WithLabelValues(map[bool]string{true: "ok", false: "failed"}[ok]).Inc()
	}
}

func (m *Metrics) watcherStarted() {
	if m != nil {
		m.watchers.Inc()
	}
}

func (m *Metrics) watcherEnded() {
	if m != nil {
		m.watchers.Dec()
	}
}

func (m *Metrics) watcherDropped(reason string) {
	if m != nil {
		m.wdrops.WithLabelValues(reason).Inc()
	}
}
