package coordinator

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"go.opentelemetry.io/otel/trace"

	"github.com/arbiter-tx/arbiter/coordinator/internal/txhistory"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// run is one commit attempt on this leader: phase 1 and the decision (or
// the recovery of a STAGING transaction). A retried Commit for the same ID
// waits on the run already in progress.
type run struct {
	txID string
	// parts are the participants asked to prepare; readOnly are those
	// that voted read-only (no phase 2 for them).
	parts    []string
	readOnly map[string]bool
	mode     arbiterpb.CommitMode
	// oneShot: the Commit had no Begin, so there may be no record yet; the
	// decision (or STAGE) creates it with deadline and clientID.
	oneShot bool
	// presumedAbort: abortUnrecorded's run, which decides ABORT for an ID
	// without a record; a Commit that joins it gets that ABORT.
	presumedAbort bool
	deadline      int64
	clientID      string
	done          chan struct{}
	early         chan struct{} // closed when the answer is known before the run ends
	// span is the Commit call's trace context: the run outlives the call,
	// but its Prepare calls join the caller's trace (tracing is optional).
	span trace.SpanContext
	out  arbiterpb.Outcome
	why  string
	err  error
}

// newRun is a run of rec over parts in mode, not started.
func newRun(rec *arbiterpb.TxRecord, parts []string, mode arbiterpb.CommitMode) *run {
	return &run{txID: rec.GetTxId(), parts: parts, mode: mode, deadline: rec.GetDeadlineUnixNanos(),
		clientID: rec.GetClientId(), readOnly: map[string]bool{}, done: make(chan struct{}), early: make(chan struct{})}
}

// answerEarly gives the caller its answer before the run ends (parallel
// commit: COMMIT once STAGING and every yes vote are durable).
func (r *run) answerEarly(out arbiterpb.Outcome) {
	r.out = out
	close(r.early)
}

// covers reports whether every ID of want is in have.
func covers(have, want []string) bool {
	for _, id := range want {
		if !slices.Contains(have, id) {
			return false
		}
	}
	return true
}

// commitSpec is what a Commit asks for beyond the record.
type commitSpec struct {
	branches []*arbiterpb.Branch
	mode     arbiterpb.CommitMode
	oneShot  bool
}

// commit returns the transaction's outcome, running phase 1 and the
// decision if no decision exists yet. The run is detached from the caller's
// context: a client that disconnects never stops a decision.
func (c *Coordinator) commit(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord, spec commitSpec) (arbiterpb.Outcome, string, error) {
	if out := outcomeOf(rec); out != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return out, rec.GetReason(), nil
	}
	c.history.Event(rec.GetTxId(), "commit requested ("+spec.mode.String()+")")
	r, err := c.startRun(ctx, ls, rec, spec)
	if err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, "", err
	}
	out, why, err := r.wait(ctx)
	if err != nil {
		c.history.Event(rec.GetTxId(), "commit call ended without an answer (the caller retries by ID): "+txhistory.Clip(err.Error()))
	} else {
		c.history.Event(rec.GetTxId(), "commit answered: "+out.String())
	}
	return out, why, err
}

func (r *run) wait(ctx context.Context) (arbiterpb.Outcome, string, error) {
	select {
	case <-r.done:
		return r.out, r.why, r.err
	case <-r.early:
		return r.out, "", nil
	case <-ctx.Done():
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, "", ctx.Err()
	}
}

// startRun starts a run over the record's participants and the branches,
// on the path the request takes (path), or returns the run in progress
// for the same ID.
func (c *Coordinator) startRun(ctx context.Context, ls *leaderState, rec *arbiterpb.TxRecord, spec commitSpec) (*run, error) {
	if err := c.checkRegistered(spec.branches); err != nil {
		return nil, err
	}
	payloads := make(map[string][]byte, len(spec.branches))
	for _, b := range spec.branches {
		payloads[b.GetParticipantId()] = b.GetPayload()
	}
	parts := unionSorted(rec.GetParticipants(), keys(payloads))
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: transaction %s has no participants: pass branches or enlist participants before commit", ErrInvalid, rec.GetTxId())
	}
	if len(parts) > c.cfg.MaxBranches {
		return nil, fmt.Errorf("%w: %d participants exceeds the limit of %d", ErrInvalid, len(parts), c.cfg.MaxBranches)
	}
	r := newRun(rec, parts, spec.mode)
	r.oneShot, r.span = spec.oneShot, trace.SpanContextFromContext(ctx)
	if rec.GetState() == arbiterpb.TxState_TX_STATE_STAGING {
		r.mode = arbiterpb.CommitMode_COMMIT_MODE_PARALLEL // a retry of a parallel commit stays one
	}
	got, err := c.launch(ls, r, c.path(ls, r, payloads))
	if err != nil || got == r {
		return got, err
	}
	if got.presumedAbort {
		return got, nil
	}
	// Only this Commit's branches are compared: the record's participants
	// are in the run already, and the run may have added late enlistees.
	if have, asked := c.runParts(got), slices.Sorted(maps.Keys(payloads)); !covers(have, asked) {
		err = fmt.Errorf("%w: a commit of %s over %v is in progress and this Commit names %v: retry with the branches of the first attempt",
			ErrBranchesDiffer, r.txID, have, without(asked, have))
	}
	return got, err
}

// runParts reads the participants of a run that another goroutine runs:
// its own goroutine may add late enlistees (prepareLate) meanwhile.
func (c *Coordinator) runParts(r *run) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return r.parts
}

// path is what r runs: the one-phase path for a one-shot transaction with
// a single participant (onephase.go), else the parallel (parallel.go) or
// the standard (standard.go) path, as the request asked.
func (c *Coordinator) path(ls *leaderState, r *run, payloads map[string][]byte) func() {
	switch {
	case r.oneShot && len(r.parts) == 1:
		payload := payloads[r.parts[0]]
		return func() { c.executeOnePhase(ls, r, payload) }
	case r.mode == arbiterpb.CommitMode_COMMIT_MODE_PARALLEL:
		return func() { c.executeParallel(ls, r, payloads) }
	default:
		return func() { c.executeStandard(ls, r, payloads) }
	}
}

// launch registers r and runs exec in the background, unless a run for the
// same ID is in progress: that one is returned instead. A one-shot run
// (which starts from "no record") is not launched once a record exists:
// another run's decision landed since the caller looked, and is answered.
func (c *Coordinator) launch(ls *leaderState, r *run, exec func()) (*run, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.runs[r.txID]; ok {
		return old, nil
	}
	if rec, ok := c.node.FSM().Get(r.txID); ok && r.oneShot {
		if outcomeOf(rec) == arbiterpb.Outcome_OUTCOME_UNKNOWN {
			return nil, fmt.Errorf("%w: %s was recorded (%v) while this call started: retry with the same ID", ErrOutcomeUnknown, r.txID, rec.GetState())
		}
		r.out, r.why = outcomeOf(rec), rec.GetReason()
		close(r.done)
		return r, nil
	}
	c.runs[r.txID] = r
	c.goBackground(func() {
		defer c.endRun(r)
		exec()
	})
	return r, nil
}

func (c *Coordinator) endRun(r *run) {
	c.mu.Lock()
	delete(c.runs, r.txID)
	c.mu.Unlock()
	close(r.done)
}

// writers are the participants that did not vote read-only.
func (r *run) writers() []string {
	out := make([]string, 0, len(r.parts))
	for _, p := range r.parts {
		if !r.readOnly[p] {
			out = append(out, p)
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// without returns the IDs of a that are not in b.
func without(a, b []string) []string {
	var out []string
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

func unionSorted(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
