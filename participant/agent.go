package participant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Agent is a participant agent: it serves the Participant gRPC service over
// a Resource, enlists service-driven work and resolves in-doubt transactions.
// Create it with New; it is safe for concurrent use.
type Agent[T any] struct {
	cfg     Config
	res     Resource[T]
	handler Handler[T]
	log     *zap.Logger
	coord   *coordClient
	txs     *txMutex
	doomed  *doomedSet // refused, abort not yet recorded (doomed.go)

	committed atomic.Uint64 // decisions applied since New
	aborted   atomic.Uint64
	votesYes  atomic.Uint64 // Prepare answers since New
	votesNo   atomic.Uint64
	resolved  atomic.Uint64            // in-doubt transactions settled by asking (Resolve)
	heurRB    atomic.Uint64            // decisions refused with ErrHeuristicRollback
	heurCM    atomic.Uint64            // decisions refused with ErrHeuristicCommit
	retention atomic.Int64             // outcome record retention (ns); 0: unknown, no pruning
	steps     *prometheus.HistogramVec // time per step (metrics.go)

	startOnce sync.Once
	closeOnce sync.Once
	life      context.Context // cancelled by Close; bounds background work
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// New returns an Agent for res. h runs coordinator-driven payloads; it may
// be nil for a purely service-driven participant (a Prepare with a payload
// then votes no). A nil logger logs nothing. New dials lazily: no
// coordinator need be up yet.
func New[T any](cfg Config, res Resource[T], h Handler[T], logger *zap.Logger) (*Agent[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if res == nil {
		return nil, errors.New("participant: a Resource is required")
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	log := logger.With(zap.String("participant-id", cfg.ID))
	coord, err := dialCoordinators(cfg, log)
	if err != nil {
		return nil, err
	}
	warnInsecure(cfg, logger)
	life, cancel := context.WithCancel(context.Background())
	return &Agent[T]{
		cfg: cfg, res: res, handler: h, coord: coord, txs: newTxMutex(), doomed: newDoomedSet(), steps: newStepTimings(cfg.ID),
		log:  log,
		life: life, cancel: cancel,
	}, nil
}

// RegisterService registers the arbiterpb Participant service on s. Install
// client.UnaryServerInterceptor on the server for service-driven calls.
func (a *Agent[T]) RegisterService(s grpc.ServiceRegistrar) {
	arbiterpb.RegisterParticipantServer(s, &service[T]{a: a})
}

// Start registers the agent with the coordinators, retrying until it
// succeeds or ctx is done (the answer carries the uniqueness window, the
// floor of the outcome retention), then starts the recovery loop: one pass
// over all prepared work now, then every ResolveInterval until Close; and,
// with a Resource that implements OutcomePruner, the prune loop. ctx only
// bounds registration; the loops run until Close.
func (a *Agent[T]) Start(ctx context.Context) error {
	if err := a.register(ctx); err != nil {
		return err
	}
	a.startOnce.Do(func() {
		a.wg.Add(1)
		go a.recoveryLoop()
		if p, ok := a.res.(OutcomePruner); ok && a.cfg.OutcomePruneInterval > 0 {
			a.wg.Add(1)
			go a.pruneLoop(p)
		}
	})
	return nil
}

func (a *Agent[T]) register(ctx context.Context) error {
	req := &arbiterpb.RegisterRequest{ParticipantId: a.cfg.ID, Address: a.cfg.Address}
	for pause := coordBackoff; ; pause = min(2*pause, 2*time.Second) {
		var resp *arbiterpb.RegisterResponse
		err := a.coord.call(ctx, func(ctx context.Context, c arbiterpb.CoordinatorClient) (err error) {
			resp, err = c.Register(ctx, req)
			return err
		})
		if err == nil {
			a.log.Info("registered with coordinators", zap.String("address", a.cfg.Address))
			a.learnWindow(resp.GetUniquenessWindowMillis())
			return nil
		}
		a.log.Warn("register failed, retrying", zap.Error(err))
		if !backoff.Sleep(ctx, pause) {
			return fmt.Errorf("participant: register %q: %w", a.cfg.ID, ctx.Err())
		}
	}
}

// Close stops the recovery loop, waits for it and closes the coordinator
// connections. It does not close the Resource. Close is idempotent.
func (a *Agent[T]) Close() {
	a.closeOnce.Do(func() {
		a.cancel()
		a.wg.Wait()
		a.coord.close()
	})
}

// commit applies the decision COMMIT for txID, serialized per transaction.
func (a *Agent[T]) commit(ctx context.Context, txID string) error {
	unlock, err := a.txs.lock(ctx, txID)
	if err != nil {
		return err
	}
	defer unlock()
	return a.commitLocked(ctx, txID)
}

// commitLocked applies COMMIT under txID's lock.
func (a *Agent[T]) commitLocked(ctx context.Context, txID string) error {
	a.cfg.failpoint(failpoint.CommitBeforeApply)
	if err := a.res.Commit(ctx, txID); err != nil {
		a.countHeuristic(err)
		return err
	}
	a.cfg.failpoint(failpoint.CommitAfterApply)
	a.committed.Add(1)
	return nil
}

// abort applies the decision ABORT for txID, serialized per transaction.
func (a *Agent[T]) abort(ctx context.Context, txID string) error {
	unlock, err := a.txs.lock(ctx, txID)
	if err != nil {
		return err
	}
	defer unlock()
	return a.abortLocked(ctx, txID)
}

// abortLocked applies ABORT under txID's lock; once recorded, txID is no
// longer doomed.
func (a *Agent[T]) abortLocked(ctx context.Context, txID string) error {
	if err := a.res.Abort(ctx, txID); err != nil {
		a.countHeuristic(err)
		return err
	}
	a.doomed.remove(txID)
	a.aborted.Add(1)
	return nil
}

// applyFenced applies a phase-2 decision for txID (apply is commitLocked
// or abortLocked) after the term check, both under txID's lock: no newer
// decision for txID can record its term between the check and the apply,
// so a stale decision is either applied before the newer term is seen or
// refused.
func (a *Agent[T]) applyFenced(ctx context.Context, txID string, term uint64, apply func(context.Context, string) error) error {
	defer a.timed(stepDecide, time.Now())
	unlock, err := a.txs.lock(ctx, txID)
	if err != nil {
		return err
	}
	defer unlock()
	if err := a.fence(ctx, term); err != nil {
		a.log.Warn("decision refused", zap.String("tx-id", txID), zap.Error(err))
		return err
	}
	return apply(ctx, txID)
}

// fence refuses a term lower than the highest seen (ErrStaleTerm) and
// durably records a higher one.
func (a *Agent[T]) fence(ctx context.Context, term uint64) error {
	highest, err := a.res.Term(ctx)
	if err != nil {
		return err
	}
	if term < highest {
		return fmt.Errorf("%w: stale term %d < %d", ErrStaleTerm, term, highest)
	}
	if term > highest {
		return a.res.SetTerm(ctx, term)
	}
	return nil
}

// countHeuristic counts a decision the resource refused with a heuristic
// outcome (the resource logs it). The coordinator retries a refused
// decision, so one transaction may count several times: alert on any
// increase of arbiter_participant_heuristic_outcomes_total.
func (a *Agent[T]) countHeuristic(err error) {
	switch heuristicReason(err) {
	case HeuristicRollbackReason:
		a.heurRB.Add(1)
	case HeuristicCommitReason:
		a.heurCM.Add(1)
	}
}
