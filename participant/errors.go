package participant

import (
	"context"
	"errors"

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
	// ErrLockTimeout: a key lock could not be taken in time; retry the
	// transaction.
	ErrLockTimeout = errors.New("participant: lock wait timed out")
	// ErrClosed: the agent or the resource is closed.
	ErrClosed = errors.New("participant: closed")
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
	return status.Error(codeOf(err), err.Error())
}

func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, ErrNoTxID):
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
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Internal
}
