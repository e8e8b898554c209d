package participant

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func (a *Agent[T]) countVote(yes bool) {
	if yes {
		a.votesYes.Add(1)
	} else {
		a.votesNo.Add(1)
	}
}

// The steps timed by arbiter_participant_step_seconds.
const (
	stepPrepare = "prepare"         // a Prepare, from arrival to vote: lock wait, local work, durable prepare
	stepDurable = "prepare_durable" // Resource.Prepare alone: making the branch durable
	stepDecide  = "decide"          // a COMMIT or ABORT, from arrival to acknowledgement
)

func newStepTimings(id string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "arbiter_participant_step_seconds", ConstLabels: prometheus.Labels{"participant": id},
		Help:    "Time this participant spent per step: prepare (a Prepare from arrival to vote), prepare_durable (making a prepared branch durable, within prepare), decide (a COMMIT or ABORT from arrival to acknowledgement).",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18), // 50 µs .. 6.6 s
	}, []string{"step"})
}

func (a *Agent[T]) timed(step string, since time.Time) {
	a.steps.WithLabelValues(step).Observe(time.Since(since).Seconds())
}

// RegisterMetrics registers the agent's Prometheus metrics on reg: votes,
// decisions applied, transactions settled through Resolve, heuristic
// outcomes (arbiter_participant_heuristic_outcomes_total, kind "rollback"
// or "commit": alert on any increase), the time per step
// (arbiter_participant_step_seconds), and how many transactions are
// prepared (in doubt) right now, and how many coordinators it reaches.
func (a *Agent[T]) RegisterMetrics(reg prometheus.Registerer) error {
	labels := prometheus.Labels{"participant": a.cfg.ID}
	counter := func(name, help string, v func() uint64, extra ...string) prometheus.Collector {
		l := prometheus.Labels{"participant": a.cfg.ID}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: l},
			func() float64 { return float64(v()) })
	}
	const heuristicHelp = "Decisions refused because the prepared work was decided outside Arbiter (rollback: COMMIT found it rolled back; commit: ABORT found it committed). Repair the data by hand."
	cs := []prometheus.Collector{
		counter("arbiter_participant_votes_yes_total", "Prepare answered yes.", a.votesYes.Load),
		counter("arbiter_participant_votes_no_total", "Prepare answered no.", a.votesNo.Load),
		counter("arbiter_participant_commits_total", "Commits applied.", a.committed.Load),
		counter("arbiter_participant_aborts_total", "Aborts applied.", a.aborted.Load),
		counter("arbiter_participant_resolved_total", "In-doubt transactions settled by asking the coordinator.", a.resolved.Load),
		counter("arbiter_participant_heuristic_outcomes_total", heuristicHelp, a.heurRB.Load, "kind", "rollback"),
		counter("arbiter_participant_heuristic_outcomes_total", heuristicHelp, a.heurCM.Load, "kind", "commit"),
		a.steps,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arbiter_participant_in_doubt", Help: "Transactions prepared and waiting for a decision.", ConstLabels: labels},
			a.preparedCount),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arbiter_participant_coordinators_reachable", Help: "Coordinators this participant's health view says it reaches (it calls the others last).", ConstLabels: labels},
			func() float64 { return float64(a.coord.reachable()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent[T]) preparedCount() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	list, err := a.res.Prepared(ctx)
	if err != nil {
		return -1
	}
	return float64(len(list))
}
