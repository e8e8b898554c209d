package client

import (
	"context"
	"time"

	"github.com/arbiter-tx/arbiter/internal/txid"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Mode chooses how the coordinator reaches a decision.
type Mode = arbiterpb.CommitMode

// The commit modes.
const (
	// Standard: prepare everywhere, then the decision through Raft.
	Standard = arbiterpb.CommitMode_COMMIT_MODE_STANDARD
	// Parallel: the participant list is replicated while the participants
	// prepare; COMMIT is answered once both are durable (one Raft round
	// sooner). Recovery of an interrupted transaction needs every
	// participant to answer, where the standard mode aborts at the deadline.
	Parallel = arbiterpb.CommitMode_COMMIT_MODE_PARALLEL
)

// RunOptions tune Run.
type RunOptions struct {
	// Mode is the commit mode (Standard if zero).
	Mode Mode
	// Timeout bounds the transaction; 0 uses the cluster's default.
	Timeout time.Duration
	// TxID is the transaction's ID; empty means a fresh NewTxID. Pass the
	// ID of an earlier Run whose outcome is unknown (with the same
	// branches) to ask again: that is always safe.
	TxID string
}

// NewTxID returns a fresh transaction ID for Run: a UUIDv7 in 32 hex
// digits (its creation time, then 74 random bits). The coordinators read the
// time: a one-shot ID older than the cluster's uniqueness window is refused
// rather than run a second time, and one-shot IDs made otherwise are refused.
func NewTxID() string { return txid.New(time.Now()) }

// Run commits branches as one transaction in a single call, with no Begin
// (a one-shot transaction): the coordinator prepares every branch and
// decides. A single branch is committed in one phase at its participant,
// with no write to the coordinators' log. It returns the transaction ID
// with the outcome; on ErrOutcomeUnknown, call Run again with that ID.
func (c *Client) Run(ctx context.Context, opts RunOptions, branches ...*arbiterpb.Branch) (string, Outcome, error) {
	txID := opts.TxID
	if txID == "" {
		txID = NewTxID()
	}
	req := &arbiterpb.CommitRequest{TxId: txID, Branches: branches, Mode: opts.Mode, OneShot: true,
		TimeoutMillis: opts.Timeout.Milliseconds(), ClientId: c.cfg.ClientID}
	resp, err := call(ctx, c, func(ctx context.Context, cli arbiterpb.CoordinatorClient) (*arbiterpb.CommitResponse, error) {
		return cli.Commit(ctx, req)
	})
	return txID, resp.GetOutcome(), err
}

// CommitMode is Commit (of a transaction from Begin) in the given mode.
func (c *Client) CommitMode(ctx context.Context, mode Mode, txID string, branches ...*arbiterpb.Branch) (Outcome, error) {
	req := &arbiterpb.CommitRequest{TxId: txID, Branches: branches, Mode: mode}
	resp, err := call(ctx, c, func(ctx context.Context, cli arbiterpb.CoordinatorClient) (*arbiterpb.CommitResponse, error) {
		return cli.Commit(ctx, req)
	})
	return resp.GetOutcome(), err
}
