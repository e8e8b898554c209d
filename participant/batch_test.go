package participant_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"google.golang.org/grpc/codes"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A batch of decisions: each item gets its own result; a stale term
// refuses the whole batch and changes nothing.
func TestDecideBatchAppliesEachItem(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	for _, id := range []string{"c1", "c2", "a1"} {
		n.prepare(t, id, "k"+id+"=1")
	}
	item := func(id string, out arbiterpb.Outcome) *arbiterpb.DecisionItem {
		return &arbiterpb.DecisionItem{TxId: id, Outcome: out}
	}
	_, err := n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 5, Items: []*arbiterpb.DecisionItem{
		item("c1", arbiterpb.Outcome_OUTCOME_COMMIT)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 4, Items: []*arbiterpb.DecisionItem{
		item("c2", arbiterpb.Outcome_OUTCOME_COMMIT)}})
	wantCode(t, err, codes.FailedPrecondition)
	if st := n.state(t, "c2"); st != participant.StatePrepared {
		t.Fatalf("stale batch changed c2 to %v", st)
	}
	resp, err := n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 5, Items: []*arbiterpb.DecisionItem{
		item("c2", arbiterpb.Outcome_OUTCOME_COMMIT),
		item("a1", arbiterpb.Outcome_OUTCOME_ABORT),
		item("never-prepared", arbiterpb.Outcome_OUTCOME_COMMIT),
		item("c1", arbiterpb.Outcome_OUTCOME_UNKNOWN),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []codes.Code{codes.OK, codes.OK, codes.FailedPrecondition, codes.InvalidArgument}
	for i, r := range resp.GetResults() {
		if codes.Code(r.GetCode()) != want[i] {
			t.Errorf("item %d (%s): code %v %q, want %v", i, r.GetTxId(), codes.Code(r.GetCode()), r.GetMessage(), want[i])
		}
	}
	if n.state(t, "c2") != participant.StateCommitted || n.state(t, "a1") != participant.StateAborted {
		t.Fatalf("states c2=%v a1=%v", n.state(t, "c2"), n.state(t, "a1"))
	}
	_, err = n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 5})
	wantCode(t, err, codes.InvalidArgument)
}

// The agent's metrics count votes and decisions and show what is in doubt.
func TestAgentMetrics(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	reg := prometheus.NewRegistry()
	if err := n.agent.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	n.prepare(t, "m1", "x=1")
	if v := testutil.ToFloat64(gaugeOrCounter(t, reg, "arbiter_participant_in_doubt")); v != 1 {
		t.Fatalf("in doubt %v, want 1", v)
	}
	if _, err := n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: "m1", Term: 1}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"arbiter_participant_votes_yes_total": 1, "arbiter_participant_commits_total": 1, "arbiter_participant_in_doubt": 0} {
		if v := testutil.ToFloat64(gaugeOrCounter(t, reg, name)); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	for step, want := range map[string]uint64{"prepare": 1, "prepare_durable": 1, "decide": 1} {
		if got := stepCount(t, reg, step); got != want {
			t.Errorf("arbiter_participant_step_seconds{step=%q} counted %d, want %d", step, got, want)
		}
	}
}

// stepCount is the sample count of arbiter_participant_step_seconds{step}.
func stepCount(t *testing.T, reg *prometheus.Registry, step string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "arbiter_participant_step_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "step" && l.GetValue() == step {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

func gaugeOrCounter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "probe"}, func() float64 { return v })
		}
	}
	t.Fatalf("metric %s not registered", name)
	return nil
}

func TestPrepareBatchAnswersEachItem(t *testing.T) {
	coord := fakecoord.StartTLS(t)
	n := startNode(t, coord, t.TempDir())
	n.prepare(t, "done", "k0=0")
	deadline := time.Now().Add(time.Minute).UnixNano()
	resp, err := n.pc.PrepareBatch(bg, &arbiterpb.PrepareBatchRequest{Items: []*arbiterpb.PrepareRequest{
		{TxId: "b1", Payload: []byte("k1=1"), DeadlineUnixNanos: deadline, Term: 1},
		{TxId: "b2", Payload: []byte("bad"), DeadlineUnixNanos: deadline, Term: 1},
		{TxId: "", Payload: []byte("k3=3"), Term: 1},
		{TxId: "b4", Payload: []byte("k4=4"), OnePhase: true, Term: 1},
		{TxId: "done", Payload: []byte("k0=again"), Term: 1},
	}})
	if err != nil || len(resp.GetResults()) != 5 {
		t.Fatalf("PrepareBatch: %v, %v", resp, err)
	}
	r := resp.GetResults()
	if r[0].GetResponse().GetVote() != arbiterpb.Vote_VOTE_YES || n.state(t, "b1") != participant.StatePrepared {
		t.Errorf("item 0: %v, state %v", r[0], n.state(t, "b1"))
	}
	if r[1].GetResponse().GetVote() != arbiterpb.Vote_VOTE_NO || n.state(t, "b2") != participant.StateAborted {
		t.Errorf("item 1: %v", r[1])
	}
	if codes.Code(r[2].GetCode()) != codes.InvalidArgument || r[2].GetResponse() != nil {
		t.Errorf("item 2 (no tx_id): %v", r[2])
	}
	if r[3].GetResponse().GetVote() != arbiterpb.Vote_VOTE_COMMITTED || n.state(t, "b4") != participant.StateCommitted {
		t.Errorf("item 3 (one phase): %v", r[3])
	}
	if r[4].GetResponse().GetVote() != arbiterpb.Vote_VOTE_YES || n.calls.Load() != 4 { // "done" is not run again
		t.Errorf("item 4 (retried): %v, handler calls %d", r[4], n.calls.Load())
	}
	_, err = n.pc.PrepareBatch(bg, &arbiterpb.PrepareBatchRequest{})
	wantCode(t, err, codes.InvalidArgument)
}
