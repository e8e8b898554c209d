package coordinator

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/raftlog"
)

// Errors returned by the coordinator. Each is mapped to a gRPC status code in
// toStatus; messages say what the caller should do.
var (
	// ErrInvalid marks a request that can never succeed as sent.
	ErrInvalid = errors.New("invalid request")
	// ErrUnknownTx: no record of the transaction (never begun, or finished
	// long enough ago to be forgotten).
	ErrUnknownTx = errors.New("unknown transaction")
	// ErrUnknownParticipant: the participant never registered.
	ErrUnknownParticipant = errors.New("unknown participant")
	// ErrDecided: the call needs an undecided transaction.
	ErrDecided = errors.New("transaction already decided")
	// ErrUndecided: the call needs a decided transaction (RetryPhase2).
	ErrUndecided = errors.New("transaction not decided")
	// ErrNoLeader: no leader is known, or this node lost leadership; retry.
	ErrNoLeader = errors.New("no leader available")
	// ErrCommitStarted: a participant tried to enlist after commit began.
	ErrCommitStarted = errors.New("commit already started")
	// ErrBranchesDiffer: a retried Commit names a participant that the
	// transaction's staged set, decision or run in progress does not.
	ErrBranchesDiffer = errors.New("branches differ from the transaction's")
	// ErrTooOld: an ID whose creation time is older than the uniqueness
	// window: its outcome may have been forgotten, so it is never run.
	ErrTooOld = errors.New("transaction ID older than the uniqueness window")
	// ErrOverloaded: Begin refused because MaxInFlight transactions are
	// undecided; retry later.
	ErrOverloaded = errors.New("too many transactions in flight")
	// ErrOutcomeUnknown: the answer did not come in time (a one-phase
	// participant that did not answer); retry Commit by transaction ID.
	ErrOutcomeUnknown = errors.New("outcome unknown")
)

// toStatus maps an error to the gRPC status the caller sees.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var nl *notLeader
	if errors.As(err, &nl) {
		return nl.status().Err()
	}
	return status.Error(codeOf(err), err.Error())
}

func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrUnknownParticipant):
		return codes.InvalidArgument
	case errors.Is(err, ErrUnknownTx), errors.Is(err, raftlog.ErrUnknownTx), errors.Is(err, raftlog.ErrUnknownMember):
		return codes.NotFound
	case errors.Is(err, ErrDecided), errors.Is(err, ErrUndecided), errors.Is(err, ErrCommitStarted), errors.Is(err, raftlog.ErrNotActive),
		errors.Is(err, raftlog.ErrStaging), errors.Is(err, ErrBranchesDiffer), errors.Is(err, ErrTooOld),
		errors.Is(err, raftlog.ErrCommitting), errors.Is(err, raftlog.ErrParticipantsDiffer), errors.Is(err, raftlog.ErrUnvoted):
		return codes.FailedPrecondition
	case errors.Is(err, ErrNoLeader), errors.Is(err, raftlog.ErrNotLeader),
		errors.Is(err, raftlog.ErrOutcomeUnknown), errors.Is(err, raftlog.ErrClosed), errors.Is(err, ErrOutcomeUnknown):
		return codes.Unavailable
	case errors.Is(err, ErrOverloaded):
		return codes.ResourceExhausted
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	default:
		return codes.Internal
	}
}
