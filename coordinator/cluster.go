package coordinator

import (
	"context"
	"slices"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Cluster reports this node's view of the cluster; it never forwards.
func (c *Coordinator) Cluster(ctx context.Context, req *arbiterpb.ClusterRequest) (*arbiterpb.ClusterResponse, error) {
	st := c.node.Stats()
	active, unfinished := c.node.FSM().Counts()
	resp := &arbiterpb.ClusterResponse{
		NodeId: c.node.ID(), LeaderId: st.LeaderID, Term: st.Term,
		CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex, State: st.State,
		Active: int64(active), Unfinished: int64(unfinished),
		Participants: c.node.FSM().Participants(),
		LogWrites:    st.LogWrites, LogEntries: st.LogEntries,
	}
	resp.Members = c.memberList(st)
	if req.GetProbeParticipants() {
		// What answers now, not the standing view (reach.go).
		fresh := c.probeNow(ctx, resp.Participants, nil, false)
		_, resp.Unreachable = c.reachView(resp.Participants)
		for p := range resp.Participants {
			if _, down := resp.Unreachable[p]; !down && !slices.Contains(fresh, p) {
				resp.Unreachable[p] = "no answer to the probe just made"
			}
		}
		resp.Reachable = fresh
		return resp, nil
	}
	resp.Reachable, resp.Unreachable = c.reachView(resp.Participants)
	return resp, nil
}

// memberList is the Raft configuration with the gRPC addresses this node
// knows.
func (c *Coordinator) memberList(st raftlog.Stats) []*arbiterpb.Member {
	var out []*arbiterpb.Member
	for _, m := range st.Members {
		addr, _ := c.members.get(m.ID)
		out = append(out, &arbiterpb.Member{Id: m.ID, RaftAddress: m.Address, GrpcAddress: addr, Leader: m.ID == st.LeaderID})
	}
	return out
}

// ListTransactions lists one page of this node's live table: undecided
// transactions and decided ones whose phase 2 is not finished, oldest first
// (by begin index, then ID). The next page starts after the last record of
// this one, wherever the table changed meanwhile; see encodePageToken.
func (c *Coordinator) ListTransactions(ctx context.Context, req *arbiterpb.ListTransactionsRequest) (*arbiterpb.ListTransactionsResponse, error) {
	limit, err := listLimit(req.GetLimit())
	if err != nil {
		return nil, toStatus(err)
	}
	index, id, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	recs := c.node.FSM().PendingAfter(index, id, limit+1) // one more tells whether a next page exists
	resp := &arbiterpb.ListTransactionsResponse{}
	if len(recs) > limit {
		recs = recs[:limit]
		resp.NextPageToken = encodePageToken(recs[limit-1])
	}
	for _, rec := range recs {
		resp.Txs = append(resp.Txs, txInfo(rec))
	}
	return resp, nil
}
