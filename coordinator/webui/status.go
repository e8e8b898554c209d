package webui

import (
	"context"
	"net/http"
	"sort"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// statusView is the JSON body of /api/status.
type statusView struct {
	NowUnixMs    int64             `json:"now_unix_ms"`
	NodeID       string            `json:"node_id"`
	State        string            `json:"state"`
	LeaderID     string            `json:"leader_id"`
	Term         uint64            `json:"term"`
	CommitIndex  uint64            `json:"commit_index"`
	AppliedIndex uint64            `json:"applied_index"`
	Active       int64             `json:"active"`
	Unfinished   int64             `json:"unfinished"`
	LogWrites    uint64            `json:"log_writes"`
	LogEntries   uint64            `json:"log_entries"`
	Members      []memberView      `json:"members"`
	Participants []participantView `json:"participants"`
	Throughput   []rate            `json:"throughput"`
}

// memberView is one Raft member.
type memberView struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raft_address"`
	GRPCAddress string `json:"grpc_address"`
	Leader      bool   `json:"leader"`
}

// participantView is one registered participant.
type participantView struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), RequestTimeout)
	defer cancel()
	resp, err := s.src.Cluster(ctx, &arbiterpb.ClusterRequest{})
	if err != nil {
		s.writeJSON(w, "status", nil, err)
		return
	}
	now := s.now()
	s.samples.add(now, resp.GetAppliedIndex())
	v := newStatusView(resp)
	v.NowUnixMs = now.UnixMilli()
	v.Throughput = s.samples.rates()
	s.writeJSON(w, "status", v, nil)
}

func newStatusView(r *arbiterpb.ClusterResponse) statusView {
	v := statusView{
		NodeID: r.GetNodeId(), State: r.GetState(), LeaderID: r.GetLeaderId(), Term: r.GetTerm(),
		CommitIndex: r.GetCommitIndex(), AppliedIndex: r.GetAppliedIndex(),
		Active: r.GetActive(), Unfinished: r.GetUnfinished(),
		LogWrites: r.GetLogWrites(), LogEntries: r.GetLogEntries(),
		Members: []memberView{}, Participants: []participantView{},
	}
	for _, m := range r.GetMembers() {
		v.Members = append(v.Members, memberView{m.GetId(), m.GetRaftAddress(), m.GetGrpcAddress(), m.GetLeader()})
	}
	sort.Slice(v.Members, func(i, j int) bool { return v.Members[i].ID < v.Members[j].ID })
	for id, addr := range r.GetParticipants() {
		v.Participants = append(v.Participants, participantView{id, addr})
	}
	sort.Slice(v.Participants, func(i, j int) bool { return v.Participants[i].ID < v.Participants[j].ID })
	return v
}
