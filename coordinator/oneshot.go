package coordinator

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// TxIDHeader is the response header in which a one-shot Commit names the
// transaction ID it chose, sent before any work starts, so that a caller
// whose call fails can still retry by ID.
const TxIDHeader = "arbiter-tx-id"

// commitOneShot runs a one-shot Commit without an ID: this node chooses a
// dated one and sends it at once in a response header, before it forwards
// the call to the leader if it must, so that a caller whose call fails can
// retry by ID (the client SDK chooses IDs itself, which is safer: a header
// lost with the connection leaves the caller without one).
func (c *Coordinator) commitOneShot(ctx context.Context, req *arbiterpb.CommitRequest) (*arbiterpb.CommitResponse, error) {
	txID := c.newTxID()
	_ = grpc.SendHeader(ctx, metadata.Pairs(TxIDHeader, txID)) // best effort: the response names it too
	named := proto.Clone(req).(*arbiterpb.CommitRequest)
	named.TxId, named.OneShot = txID, true
	ls := c.leader()
	if ls == nil {
		resp, err := forward[arbiterpb.CommitRequest, arbiterpb.CommitResponse](ctx, c, arbiterpb.Coordinator_Commit_FullMethodName, named)
		return resp, toStatus(err)
	}
	return c.runOneShot(ctx, ls, txID, named)
}

// commitUnrecorded answers a Commit by ID for which the leader has no
// record: a run in progress is waited on; a one-shot Commit runs (again:
// every abort decided without a record writes one, a one-phase commit
// records its outcome, and a one-phase participant answers from what it
// recorded); anything else is unknown (never begun, or finished and
// forgotten).
func (c *Coordinator) commitUnrecorded(ctx context.Context, ls *leaderState, req *arbiterpb.CommitRequest) (*arbiterpb.CommitResponse, error) {
	if !req.GetOneShot() {
		c.mu.Lock()
		r, ok := c.runs[req.GetTxId()]
		c.mu.Unlock()
		if ok {
			return commitResponse(req.GetTxId())(r.wait(ctx))
		}
		return nil, toStatus(unknownTx(req.GetTxId()))
	}
	return c.runOneShot(ctx, ls, req.GetTxId(), req)
}

// runOneShot starts (or joins) the run of a one-shot transaction;
// validateCommit has checked its branches and timeout, and the ID must be
// within the uniqueness window.
func (c *Coordinator) runOneShot(ctx context.Context, ls *leaderState, txID string, req *arbiterpb.CommitRequest) (*arbiterpb.CommitResponse, error) {
	if err := c.oneShotID(txID); err != nil {
		return nil, toStatus(err)
	}
	timeout, err := c.validateTimeout(req.GetTimeoutMillis())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := c.admit(); err != nil {
		return nil, toStatus(err)
	}
	rec := &arbiterpb.TxRecord{TxId: txID, DeadlineUnixNanos: time.Now().Add(timeout).UnixNano(), ClientId: req.GetClientId()}
	spec := commitSpec{branches: req.GetBranches(), mode: req.GetMode(), oneShot: true}
	return commitResponse(txID)(c.commit(ctx, ls, rec, spec))
}
