package coordinator

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// The one-shot path (CommitRequest.one_shot, client.Run): no Begin, the
// branches are the whole transaction, and the run's DECIDE (or STAGE)
// creates the record. A one-shot with a single branch then takes the
// one-phase path (onephase.go); otherwise the standard or parallel one.

// commitNewOneShot runs a one-shot Commit without an ID: this node chooses
// a dated one and sends it at once in a response header
// (client.TxIDMetadataKey), before it forwards the call to the leader if
// it must, so that a caller whose call fails can retry by ID (the client
// SDK chooses IDs itself, which is safer: a header lost with the
// connection leaves the caller without one).
func (c *Coordinator) commitNewOneShot(ctx context.Context, req *arbiterpb.CommitRequest, timeout time.Duration) (*arbiterpb.CommitResponse, error) {
	txID := c.newTxID()
	_ = grpc.SendHeader(ctx, metadata.Pairs(client.TxIDMetadataKey, txID)) // best effort: the response names it too
	named := proto.Clone(req).(*arbiterpb.CommitRequest)
	named.TxId, named.OneShot = txID, true
	ls := c.leader()
	if ls == nil {
		return forward[arbiterpb.CommitRequest, arbiterpb.CommitResponse](ctx, c, arbiterpb.Coordinator_Commit_FullMethodName, named)
	}
	return c.runOneShot(ctx, ls, named, timeout)
}

// commitUnrecorded answers a Commit by ID for which the leader has no
// record: a one-shot Commit runs (again: every abort decided without a
// record writes one, a one-phase commit records its outcome, and a
// one-phase participant answers from what it recorded); any other joins
// the run in progress, or is unknown (never begun, or finished and
// forgotten).
func (c *Coordinator) commitUnrecorded(ctx context.Context, ls *leaderState, req *arbiterpb.CommitRequest, timeout time.Duration) (*arbiterpb.CommitResponse, error) {
	if req.GetOneShot() {
		return c.runOneShot(ctx, ls, req, timeout)
	}
	c.mu.Lock()
	r, ok := c.runs[req.GetTxId()]
	c.mu.Unlock()
	if ok {
		return commitResponse(req.GetTxId())(r.wait(ctx))
	}
	// "Unknown" is only said by a leader that has confirmed its leadership
	// (as Status does): a deposed leader that has not heard of its successor
	// yet (paused, then resumed) lacks the BEGIN the new leader applied, and
	// its NOT_FOUND would tell the client to give up on a transaction that
	// may commit. Confirmed, the record is read again: it may have been
	// applied meanwhile.
	if err := c.node.VerifyLeader(ctx); err != nil {
		return nil, err
	}
	if _, ok := c.node.FSM().Get(req.GetTxId()); ok {
		return nil, fmt.Errorf("%w: transaction %s was recorded while this Commit was routed; retry the Commit", ErrOutcomeUnknown, req.GetTxId())
	}
	return nil, unknownTx(req.GetTxId())
}

// runOneShot starts (or joins) the run of a one-shot transaction whose
// request validateCommit accepted (timeout is its lifetime). Its ID must be
// within the uniqueness window (oneShotID), and the leader must admit one
// more transaction.
func (c *Coordinator) runOneShot(ctx context.Context, ls *leaderState, req *arbiterpb.CommitRequest, timeout time.Duration) (*arbiterpb.CommitResponse, error) {
	txID := req.GetTxId()
	if err := c.oneShotID(txID); err != nil {
		return nil, err
	}
	if err := c.admit(); err != nil {
		return nil, err
	}
	rec := &arbiterpb.TxRecord{TxId: txID, DeadlineUnixNanos: time.Now().Add(timeout).UnixNano(), ClientId: req.GetClientId()}
	spec := commitSpec{branches: req.GetBranches(), mode: req.GetMode(), oneShot: true}
	return commitResponse(txID)(c.commit(ctx, ls, rec, spec))
}
