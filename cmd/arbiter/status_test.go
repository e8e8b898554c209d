package main

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func capture(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	fn()
	os.Stdout = old
	_ = w.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

func statusRows() []nodeStatus {
	return []nodeStatus{
		{Addr: "a:1", Health: "SERVING", ClusterResponse: &arbiterpb.ClusterResponse{NodeId: "n1", State: "Leader", LeaderId: "n1", Term: 4, CommitIndex: 90, AppliedIndex: 90, Active: 2,
			Participants: map[string]string{"bank-1": "x:1", "bank-2": "x:2"}, Reachable: []string{"bank-1"}, Unreachable: map[string]string{"bank-2": "connection refused for 4s"}}},
		{Addr: "a:2", Health: "NOT_SERVING", ClusterResponse: &arbiterpb.ClusterResponse{NodeId: "n2", State: "Candidate", Term: 5, CommitIndex: 80, AppliedIndex: 79}},
		{Addr: "a:3", Health: "UNREACHABLE", Error: "connection refused"},
	}
}

func TestStatusTableShowsHealthAndUnreachableNodes(t *testing.T) {
	out := capture(t, func() { printStatus("table", statusRows()) })
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[0], "REACHES") || !strings.Contains(lines[0], "HEALTH") {
		t.Fatalf("table:\n%s", out)
	}
	for i, want := range [][]string{{"n1", "Leader", "90", "SERVING", "1/2 (down: bank-2 connection refused for 4s)"}, {"n2", "Candidate", "79", "NOT_SERVING"}, {"a:3", "unreachable", "UNREACHABLE"}} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}
}

func TestStatusJSONKeepsTheClusterFieldsAtTopLevel(t *testing.T) {
	out := capture(t, func() { printStatus("json", statusRows()) })
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 3 {
		t.Fatalf("json %q: %v", out, err)
	}
	// scripts/cluster.sh waits for a leader by grepping "leader_id".
	if got[0]["leader_id"] != "n1" || got[0]["health"] != "SERVING" || got[2]["error"] != "connection refused" {
		t.Fatalf("json rows: %v", got)
	}
}
