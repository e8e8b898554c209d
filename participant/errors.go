package participant

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors returned by the agent and by Resource implementations. Adapters
// must return (or wrap with %w) these sentinels so that the agent can map
// them to gRPC status codes in one place (StatusError).
var (
	// ErrNotPrepared: Commit of a transaction that is neither prepared nor
	// committed here. The coordinator must not send Commit before a yes vote.
	ErrNotPrepared = errors.New("participant: transaction not prepared here")
	// ErrAlreadyAborted: the transaction was aborted here; it cannot be
	// prepared or committed any more.
	ErrAlreadyAborted = errors.New("participant: transaction already aborted")
	// ErrAlreadyCommitted: the transaction was committed here; it cannot be
	// aborted.
	ErrAlreadyCommitted = errors.New("participant: transaction already committed")
	// ErrTxExists: the transaction already has local work at this
	// participant (one local transaction per global transaction).
	ErrTxExists = errors.New("participant: transaction already has local work here")
	// ErrStaleTerm: a decision carried a term lower than the highest seen;
	// it came from a deposed leader and is ignored.
	ErrStaleTerm = errors.New("participant: stale coordinator term")
	// ErrNoTxID: Do was called without a transaction ID in the context; the
	// caller must send one (client.WithTxID + client.UnaryClientInterceptor).
	ErrNoTxID = errors.New("participant: no transaction ID in context")
	// ErrInvalidTxID: a transaction ID that is empty, longer than 128
	// bytes, not UTF-8 or with a control character (NUL included): the
	// coordinator never issues one, and a database may refuse it.
	ErrInvalidTxID = errors.New("participant: invalid transaction ID")
	// ErrLockTimeout: a key lock could not be taken in time; retry the
	// transaction.
	ErrLockTimeout = errors.New("participant: lock wait timed out")
	// ErrInvalidWrite: a key or value breaks the store's limits (an empty
	// key, or one longer than the store accepts); such a write could never
	// commit, so it is refused where it is written and a branch making it
	// votes no.
	ErrInvalidWrite = errors.New("participant: key or value outside the store's limits")
	// ErrAbortNotRecorded: this agent refused a transaction (its local
	// prepare failed) but could not write the abort tombstone, so the work
	// may be durable and prepared. The agent votes no (or answers an error)
	// for it and retries the abort every ResolveInterval; only if the agent
	// restarts before the abort is written may that work still commit, on
	// the coordinators' word. Check the store.
	ErrAbortNotRecorded = errors.New("participant: the local prepare failed and its abort is not recorded yet: this participant will not vote yes and keeps retrying the abort, but a restart before it succeeds leaves the outcome to the coordinators")
	// ErrClosed: the agent or the resource is closed.
	ErrClosed = errors.New("participant: closed")
	// ErrHeuristicRollback: Commit found the prepared work rolled back
	// outside Arbiter although the decision is COMMIT. Adapters wrap it;
	// the coordinator receives it as FAILED_PRECONDITION with reason
	// HeuristicRollbackReason. An operator must repair the data.
	ErrHeuristicRollback = fmt.Errorf("%w: heuristic rollback", ErrNotPrepared)
	// ErrHeuristicCommit: Abort found the prepared work committed outside
	// Arbiter although the decision is ABORT. Adapters wrap it; the
	// coordinator receives it as FAILED_PRECONDITION with reason
	// HeuristicCommitReason. An operator must repair the data.
	ErrHeuristicCommit = fmt.Errorf("%w: heuristic commit", ErrAlreadyCommitted)
)

// Reasons of a heuristic outcome on the wire: the status message starts
// with the reason and ": ", and the status carries an errdetails.ErrorInfo
// with that reason in HeuristicDomain. The message prefix is what survives
// DecideBatch, whose results carry a code and a message only; coordinators
// recognise either.
const (
	HeuristicRollbackReason = "HEURISTIC_ROLLBACK"
	HeuristicCommitReason   = "HEURISTIC_COMMIT"
	HeuristicDomain         = "arbiter.participant"
)

// StatusError maps err to a gRPC status error. It returns nil for nil and
// keeps errors that already carry a status.
func StatusError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if reason := heuristicReason(err); reason != "" {
		return heuristicStatus(reason, err)
	}
	return status.Error(codeOf(err), err.Error())
}

// heuristicReason is the wire reason of a heuristic error, or "".
func heuristicReason(err error) string {
	switch {
	case errors.Is(err, ErrHeuristicRollback):
		return HeuristicRollbackReason
	case errors.Is(err, ErrHeuristicCommit):
		return HeuristicCommitReason
	}
	return ""
}

// heuristicStatus is FAILED_PRECONDITION with the reason as the message's
// prefix and in an ErrorInfo detail.
func heuristicStatus(reason string, err error) error {
	st := status.New(codes.FailedPrecondition, reason+": "+err.Error())
	if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: HeuristicDomain}); derr == nil {
		st = withInfo
	}
	return st.Err()
}

func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, ErrNoTxID), errors.Is(err, ErrInvalidTxID), errors.Is(err, ErrInvalidWrite):
		return codes.InvalidArgument
	case errors.Is(err, ErrNotPrepared), errors.Is(err, ErrAlreadyAborted),
		errors.Is(err, ErrAlreadyCommitted), errors.Is(err, ErrStaleTerm):
		return codes.FailedPrecondition
	case errors.Is(err, ErrTxExists):
		return codes.AlreadyExists
	case errors.Is(err, ErrLockTimeout):
		return codes.Aborted
	case errors.Is(err, ErrClosed):
		return codes.Unavailable
	case errors.Is(err, ErrAbortNotRecorded):
		return codes.Unknown
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Internal
}
