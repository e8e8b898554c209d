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

// RegisterMetrics registers the agent's Prometheus metrics on reg: votes,
// decisions applied, transactions settled through Resolve, and how many
// transactions are prepared (in doubt) right now.
func (a *Agent[T]) RegisterMetrics(reg prometheus.Registerer) error {
	labels := prometheus.Labels{"participant": a.cfg.ID}
	counter := func(name, help string, v func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v()) })
	}
	cs := []prometheus.Collector{
		counter("arbiter_participant_votes_yes_total", "Prepare answered yes.", a.votesYes.Load),
		counter("arbiter_participant_votes_no_total", "Prepare answered no.", a.votesNo.Load),
		counter("arbiter_participant_commits_total", "Commits applied.", a.committed.Load),
		counter("arbiter_participant_aborts_total", "Aborts applied.", a.aborted.Load),
		counter("arbiter_participant_resolved_total", "In-doubt transactions settled by asking the coordinator.", a.resolved.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arbiter_participant_in_doubt", Help: "Transactions prepared and waiting for a decision.", ConstLabels: labels},
			a.preparedCount),
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
