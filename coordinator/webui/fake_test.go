package webui

import (
	"context"
	"errors"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// nastyID is a transaction ID that would run script if the page used
// innerHTML.
const nastyID = `<img src=x onerror="document.title='pwned'">`

// fakeSource is a Source with a fixed three-node cluster and four open
// transactions: one active, one committing, and two in doubt.
type fakeSource struct {
	now     time.Time
	applied uint64
	fail    bool
}

func (f *fakeSource) Cluster(context.Context, *arbiterpb.ClusterRequest) (*arbiterpb.ClusterResponse, error) {
	if f.fail {
		return nil, errors.New("node is shutting down")
	}
	f.applied += 30
	return &arbiterpb.ClusterResponse{
		NodeId: "n2", LeaderId: "n1", Term: 7, CommitIndex: f.applied + 2, AppliedIndex: f.applied,
		State: "Follower", Active: 2, Unfinished: 2,
		Members: []*arbiterpb.Member{
			{Id: "n3", RaftAddress: "10.0.0.3:7000", GrpcAddress: "10.0.0.3:8000"},
			{Id: "n1", RaftAddress: "10.0.0.1:7000", GrpcAddress: "10.0.0.1:8000", Leader: true},
			{Id: "n2", RaftAddress: "10.0.0.2:7000", GrpcAddress: "10.0.0.2:8000"},
		},
		Participants: map[string]string{"bank2": "10.0.1.2:9000", "bank1": "10.0.1.1:9000"},
		LogWrites:    40, LogEntries: 90,
	}, nil
}

func (f *fakeSource) ListTransactions(context.Context, *arbiterpb.ListTransactionsRequest) (*arbiterpb.ListTransactionsResponse, error) {
	if f.fail {
		return nil, errors.New("node is shutting down")
	}
	at := func(d time.Duration) int64 { return f.now.Add(d).UnixNano() }
	return &arbiterpb.ListTransactionsResponse{Txs: []*arbiterpb.TxInfo{
		{TxId: "tx-active-0001", State: arbiterpb.TxState_TX_STATE_ACTIVE, DeadlineUnixNanos: at(time.Hour), Participants: []string{"bank1"}, ClientId: "demo"},
		{TxId: "tx-commit-0002", State: arbiterpb.TxState_TX_STATE_COMMITTED, DeadlineUnixNanos: at(time.Hour), Participants: []string{"bank1", "bank2"}, DecidedIndex: 41},
		{TxId: "tx-stuck-0003", State: arbiterpb.TxState_TX_STATE_COMMITTED, DeadlineUnixNanos: at(-time.Minute), Participants: []string{"bank2"}, DecidedIndex: 12},
		{TxId: nastyID, State: arbiterpb.TxState_TX_STATE_ACTIVE, DeadlineUnixNanos: at(-2 * time.Minute), Participants: []string{"<b>bank3</b>"}},
	}}, nil
}
