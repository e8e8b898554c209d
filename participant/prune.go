package participant

import (
	"time"

	"go.uber.org/zap"
)

// retentionFor is the outcome retention: the configured one, raised to the
// coordinators' uniqueness window if shorter (0 for either: the other).
func retentionFor(configured, window time.Duration) time.Duration {
	return max(configured, window)
}

// learnWindow sets the outcome retention from the uniqueness window the
// coordinators announced at Register (in milliseconds; 0: none).
func (a *Agent[T]) learnWindow(millis int64) {
	window := time.Duration(max(millis, 0)) * time.Millisecond
	configured := a.cfg.OutcomeRetention
	retention := retentionFor(configured, window)
	a.retention.Store(int64(retention))
	log := a.log.With(zap.Duration("uniqueness-window", window), zap.Duration("configured-retention", configured))
	switch {
	case configured > 0 && configured < window:
		log.Warn("outcome retention shorter than the coordinators' uniqueness window: raised to the window (records must outlive every retry the coordinators make)")
	case retention == 0:
		log.Warn("no uniqueness window from the coordinators and no OutcomeRetention: outcome records are kept forever")
	default:
		log.Info("outcome retention", zap.Duration("retention", retention))
	}
}

// OutcomeRetention is how long after its decision an outcome record is
// kept: Config.OutcomeRetention raised to the coordinators' uniqueness
// window. 0 until Start has registered, or if neither is known.
func (a *Agent[T]) OutcomeRetention() time.Duration {
	return time.Duration(a.retention.Load())
}

// pruneLoop prunes outcome records past the retention every
// OutcomePruneInterval until Close.
func (a *Agent[T]) pruneLoop(p OutcomePruner) {
	defer a.wg.Done()
	t := time.NewTicker(a.cfg.OutcomePruneInterval)
	defer t.Stop()
	for {
		select {
		case <-a.life.Done():
			return
		case <-t.C:
			a.pruneOnce(p)
		}
	}
}

func (a *Agent[T]) pruneOnce(p OutcomePruner) {
	retention := a.OutcomeRetention()
	if retention <= 0 {
		return
	}
	n, err := p.PruneOutcomes(a.life, retention)
	switch {
	case err != nil && a.life.Err() == nil:
		a.log.Warn("pruning outcome records failed, retrying next tick", zap.Error(err))
	case n > 0:
		a.log.Debug("pruned outcome records", zap.Int("records", n), zap.Duration("retention", retention))
	}
}
