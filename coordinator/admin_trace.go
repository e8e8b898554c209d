package coordinator

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// TraceTx reports a transaction's record and this leader's trace of it.
// Traces live in memory on the leader that ran the transaction, so a
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
	resp, err := c.traceTx(req.GetTxId())
	return resp, toStatus(err)
}

// traceTx joins this node's record and trace of txID.
func (c *Coordinator) traceTx(txID string) (*arbiterpb.TraceTxResponse, error) {
	rec, haveRec := c.node.FSM().Get(txID)
	tr, haveTrace := c.tracker.get(txID)
	resp := &arbiterpb.TraceTxResponse{Trace: tr, ServedBy: c.node.ID()}
	switch {
	case !haveRec && !haveTrace:
		return nil, fmt.Errorf("%w: node %s has neither a record nor a trace of %s: it was never begun, or it finished "+
			"and was forgotten and this node did not run it recently (a trace kept by an earlier leader: ask that node with --local)",
			ErrUnknownTx, c.node.ID(), txID)
	case !haveTrace:
		resp.Trace = &arbiterpb.TxTrace{}
		resp.Note = c.noTraceNote()
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

func (c *Coordinator) noTraceNote() string {
	if c.tracker == nil {
		return "tracing is off on node " + c.node.ID() + " (TraceCapacity 0)"
	}
	return "no trace on node " + c.node.ID() + ": the transaction ran on an earlier leader (ask that node with --local), " +
		"or was evicted from this node's most recent traces, or was decided without a run here"
}

// addMissing lists, with nothing recorded, the record's participants the
// trace does not mention (so the participant table is complete).
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
