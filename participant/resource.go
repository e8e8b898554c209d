package participant

import (
	"context"
	"time"
)

// State is where a transaction stands at this participant.
type State int

// Transaction states, as recorded durably by a Resource.
const (
	// StateNone: nothing durable is known (never seen, or unprepared work).
	StateNone State = iota
	// StatePrepared: the local work is durable and awaits the decision.
	StatePrepared
	// StateCommitted: the local work was applied.
	StateCommitted
	// StateAborted: the local work was discarded (or never done); a later
	// Prepare is refused.
	StateAborted
)

func (s State) String() string {
	switch s {
	case StatePrepared:
		return "prepared"
	case StateCommitted:
		return "committed"
	case StateAborted:
		return "aborted"
	}
	return "none"
}

// PreparedTx is a prepared transaction awaiting its decision.
type PreparedTx struct {
	TxID string
	// Deadline is when the participant stops waiting for phase 2 and asks
	// the coordinators for the decision (Resolve).
	Deadline time.Time
}

// Resource is the contract an adapter implements over a service's database.
// T is the adapter's local transaction handle. Every method must be safe for
// concurrent use; the agent serializes calls for one transaction ID.
type Resource[T any] interface {
	// Begin starts the local transaction of txID. It fails with ErrTxExists
	// if txID already has local work (active, prepared) and with
	// ErrAlreadyAborted / ErrAlreadyCommitted if txID was decided here.
	Begin(ctx context.Context, txID string) (T, error)
	// Rollback discards an unprepared local transaction and releases its
	// locks. Nothing durable is written.
	Rollback(ctx context.Context, txID string, tx T) error
	// Prepare makes tx durable: after it returns nil, the work survives a
	// crash, keeps its locks and can still commit. Deadline is stored with it
	// and returned by Prepared. It refuses with ErrAlreadyAborted if txID was
	// aborted (a late Prepare after an abort tombstone). On error, nothing is
	// prepared and the caller rolls tx back.
	Prepare(ctx context.Context, txID string, tx T, deadline time.Time) error
	// Commit applies a prepared transaction atomically and releases its
	// locks. Idempotent: nil if already committed. ErrNotPrepared if txID is
	// neither prepared nor committed; ErrAlreadyAborted if it was aborted.
	Commit(ctx context.Context, txID string) error
	// Abort discards txID's work (prepared or active) and records a durable
	// tombstone, even for a transaction never seen, so that a late Prepare is
	// refused. Idempotent: nil if already aborted. ErrAlreadyCommitted if
	// txID was committed.
	Abort(ctx context.Context, txID string) error
	// State reports txID's durable state.
	State(ctx context.Context, txID string) (State, error)
	// Prepared lists every prepared transaction (for recovery after a
	// restart and for Inspect).
	Prepared(ctx context.Context) ([]PreparedTx, error)
	// Term returns the highest coordinator term recorded (0 if none).
	Term(ctx context.Context) (uint64, error)
	// SetTerm durably records term if it is higher than the recorded one;
	// a lower term is ignored (the stored value only grows).
	SetTerm(ctx context.Context, term uint64) error
}

// Handler executes a coordinator-driven branch payload inside the local
// transaction tx. Returning an error votes no; its message is the reason.
type Handler[T any] func(ctx context.Context, tx T, payload []byte) error

// OnePhaseCommitter is implemented by a Resource that can apply a local
// transaction and record it committed in one durable write, with no
// prepared state in between. The agent uses it for a one-phase Prepare (the
// transaction's only participant, whose commit is the decision); a Resource
// without it gets a prepare followed by a commit, two durable writes.
type OnePhaseCommitter[T any] interface {
	// CommitOnePhase applies tx and records txID committed. It refuses with
	// ErrAlreadyAborted / ErrAlreadyCommitted if txID was decided here. On
	// error nothing is applied and the caller rolls tx back.
	CommitOnePhase(ctx context.Context, txID string, tx T) error
}

// ReadOnlyReporter is implemented by a Resource that can tell whether a
// local transaction wrote nothing. Such a branch votes read-only when the
// coordinator allows it: its locks are released at once and it takes no
// part in phase 2.
type ReadOnlyReporter[T any] interface {
	ReadOnly(tx T) bool
}

// OutcomePruner is implemented by a Resource that can forget old outcome
// records (commit markers, abort tombstones). Those records answer a
// retried Prepare, Commit or Abort after the decision, so they must outlive
// every retry the coordinators make: the agent prunes only records decided
// longer ago than the coordinators' uniqueness window, learnt at Register
// (or than Config.OutcomeRetention if that is longer), every
// Config.OutcomePruneInterval.
type OutcomePruner interface {
	// PruneOutcomes deletes the outcome records whose decision is older
	// than olderThan, in bounded batches (each its own durable write), and
	// returns how many it deleted. Age counts from the decision, never from
	// the prepare, and nothing of prepared (in-doubt) work is deleted.
	PruneOutcomes(ctx context.Context, olderThan time.Duration) (int, error)
}
