package participant

import (
	"context"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Read-only votes, one of the shorter paths: a branch that wrote nothing is
// rolled back and votes READ_ONLY, and skips phase 2.

func voteReadOnly() *arbiterpb.PrepareResponse {
	return &arbiterpb.PrepareResponse{Vote: arbiterpb.Vote_VOTE_READ_ONLY}
}

// readOnly rolls back tx and reports true when the coordinator allows a
// read-only vote and the Resource says tx wrote nothing.
func (a *Agent[T]) readOnly(ctx context.Context, req *arbiterpb.PrepareRequest, tx T) bool {
	ro, ok := a.res.(ReadOnlyReporter[T])
	if !req.GetReadOnlyOk() || !ok || !ro.ReadOnly(tx) {
		return false
	}
	a.rollback(ctx, req.GetTxId(), tx)
	return true
}
