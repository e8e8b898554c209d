package runner

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// classify turns a client result into a history outcome. Only an answer
// from the cluster is certain; a timeout or a lost answer is unknown.
func classify(out arbiterpb.Outcome, err error) (string, string) {
	switch {
	case err == nil && out == arbiterpb.Outcome_OUTCOME_COMMIT:
		return history.OutcomeCommit, ""
	case err == nil && out == arbiterpb.Outcome_OUTCOME_ABORT:
		return history.OutcomeAbort, ""
	case err == nil:
		return history.OutcomeUnknown, "no outcome in the answer"
	case errors.Is(err, client.ErrOutcomeUnknown):
		return history.OutcomeUnknown, err.Error()
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition:
		// Refused: nothing was decided by this call.
		return history.OutcomeFail, err.Error()
	}
	return history.OutcomeUnknown, err.Error()
}

func stateName(s arbiterpb.TxState) string {
	switch s {
	case arbiterpb.TxState_TX_STATE_ACTIVE:
		return "ACTIVE"
	case arbiterpb.TxState_TX_STATE_COMMITTED:
		return "COMMITTED"
	case arbiterpb.TxState_TX_STATE_ABORTED:
		return "ABORTED"
	case arbiterpb.TxState_TX_STATE_STAGING:
		return "STAGING"
	}
	return "UNKNOWN"
}
