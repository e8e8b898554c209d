package coordinator_test

import (
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// The leader's metrics count what happened: one commit, two yes votes, a
// sample in each phase histogram, the Raft gauges, and the Raft timings
// (an FSM apply and a commit for each of BEGIN, DECIDE and FINISH).
func TestMetricsRecordACommit(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.addParticipant("a"), c.addParticipant("b")
	leader := c.waitLeader()
	cli := c.client()
	ctx := ctxT(t, 20*time.Second)
	tx, _ := cli.Begin(ctx, 0)
	if out, err := cli.Commit(ctx, tx, a.branch(-1), b.branch(1)); err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		t.Fatalf("commit: %v %v", out, err)
	}
	var got map[string]float64
	waitFor(t, 10*time.Second, "both phase-2 samples", func() bool {
		got = gather(t, leader)
		return got["arbiter_phase_seconds/phase2"] >= 2 && got["arbiter_raft_commit_seconds"] >= 3
	})
	for key, min := range map[string]float64{
		"arbiter_transactions_total/commit": 1, "arbiter_votes_total/yes": 2,
		"arbiter_phase_seconds/prepare": 1, "arbiter_phase_seconds/decide": 1, "arbiter_phase_seconds/phase2": 2,
		"arbiter_raft_is_leader": 1, "arbiter_raft_term": 1, "arbiter_raft_log_writes_total": 1,
		"arbiter_raft_fsm_apply_seconds": 3, "arbiter_raft_commit_seconds": 3, // BEGIN, DECIDE, FINISH at least
		"arbiter_raft_log_write_seconds": 1, "arbiter_commit_call_seconds": 1,
	} {
		if got[key] < min {
			t.Errorf("%s = %v, want at least %v", key, got[key], min)
		}
	}
}

// gather flattens a node's metrics to name/label-values -> value (sample
// count for histograms).
func gather(t *testing.T, n *testNode) map[string]float64 {
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return got
}
