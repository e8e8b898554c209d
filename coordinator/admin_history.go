package coordinator

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/arbiter-tx/arbiter/coordinator/internal/txhistory"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// TraceTx reports a transaction's record and this leader's history of it
// (the RPC keeps its wire name; it is not OpenTelemetry tracing).
// Histories live in memory on the leader that ran the transaction, so a
// follower forwards, unless the request asks for its local memory (the way
// to read what an earlier leader kept).
func (a *adminServer) TraceTx(ctx context.Context, req *arbiterpb.TraceTxRequest) (*arbiterpb.TraceTxResponse, error) {
	c := a.c
	if err := validID("tx_id", req.GetTxId()); err != nil {
		return nil, toStatus(err)
	}
	if !req.GetLocal() && c.leader() == nil {
		resp, err := forward[arbiterpb.TraceTxRequest, arbiterpb.TraceTxResponse](ctx, c, arbiterpb.Admin_TraceTx_FullMethodName, req)
		return resp, toStatus(err)
	}
	resp, err := c.txHistory(req.GetTxId())
	return resp, toStatus(err)
}

// txHistory joins this node's record and history of txID.
func (c *Coordinator) txHistory(txID string) (*arbiterpb.TraceTxResponse, error) {
	rec, haveRec := c.node.FSM().Get(txID)
	hist, haveHist := c.history.Get(txID)
	resp := &arbiterpb.TraceTxResponse{Trace: hist, ServedBy: c.node.ID()}
	switch {
	case !haveRec && !haveHist:
		return nil, fmt.Errorf("%w: node %s has neither a record nor a trace of %s: it was never begun, or it finished "+
			"and was forgotten and this node did not run it recently (a trace kept by an earlier leader: ask that node with --local)",
			ErrUnknownTx, c.node.ID(), txID)
	case !haveHist:
		resp.Trace = &arbiterpb.TxTrace{}
		resp.Note = c.noHistoryNote()
	case !haveRec:
		resp.Note = "no record: the transaction finished and was forgotten; the trace remains"
	}
	if haveRec {
		resp.Tx = txInfo(rec)
		addMissing(resp.Trace, rec.GetParticipants())
	}
	slices.SortFunc(resp.Trace.Participants, func(a, b *arbiterpb.ParticipantTrace) int {
		return strings.Compare(a.GetParticipantId(), b.GetParticipantId())
	})
	return resp, nil
}

func (c *Coordinator) noHistoryNote() string {
	if c.history == nil {
		return "the transaction history is off on node " + c.node.ID() + " (HistoryCapacity 0)"
	}
	return "no trace on node " + c.node.ID() + ": the transaction ran on an earlier leader (ask that node with --local), " +
		"or was evicted from this node's most recent traces, or was decided without a run here"
}

// addMissing lists, with nothing recorded, the record's participants the
// history does not mention (so the participant table is complete).
func addMissing(tr *arbiterpb.TxTrace, parts []string) {
	seen := make(map[string]bool, len(tr.GetParticipants()))
	for _, p := range tr.GetParticipants() {
		seen[p.GetParticipantId()] = true
	}
	for _, id := range parts {
		if !seen[id] {
			tr.Participants = append(tr.Participants, &arbiterpb.ParticipantTrace{ParticipantId: id})
		}
	}
}

// VoteName is a vote as operators read it: "none" before one arrives,
// else the enum name in lower case with dashes ("yes", "read-only").
func VoteName(v arbiterpb.Vote) string { return txhistory.VoteName(v) }

// OutcomeName is "COMMIT", "ABORT", or "none" for no decision.
func OutcomeName(o arbiterpb.Outcome) string { return txhistory.OutcomeName(o) }
