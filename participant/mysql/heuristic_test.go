package mysql_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/mysql"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// wantHeuristicStatus checks err is FAILED_PRECONDITION naming reason both
// as the message's prefix and, when withInfo, in an ErrorInfo detail.
func wantHeuristicStatus(t *testing.T, err error, reason string, withInfo bool) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || !strings.HasPrefix(st.Message(), reason+": ") {
		t.Fatalf("status = %v %q, want FailedPrecondition with message prefix %q", st.Code(), st.Message(), reason)
	}
	if !withInfo {
		return
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == reason && info.GetDomain() == participant.HeuristicDomain {
			return
		}
	}
	t.Fatalf("status details %v: want an ErrorInfo with reason %s", st.Details(), reason)
}

// operator runs an XA statement as an operator would, from a session of
// its own, retrying while the branch is still attached to the session
// that prepared it (XAER_NOTA until the server has ended that session).
func operator(t *testing.T, e *env, stmt string) {
	t.Helper()
	var err error
	eventually(t, stmt, func() bool {
		_, err = e.db.Exec(stmt)
		return err == nil || !strings.Contains(err.Error(), "1397")
	})
	must(t, err)
}

func heuristicLogged(n *node, txID string) int {
	return n.logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("heuristic outcome").
		FilterField(zap.String("tx-id", txID)).Len()
}

// An operator runs XA ROLLBACK on a prepared branch behind our back, then
// the coordinator's COMMIT arrives: a heuristic rollback, never success,
// over gRPC (Commit with ErrorInfo, DecideBatch with the message prefix)
// and directly; logged at error level and counted in the agent's metric
// arbiter_participant_heuristic_outcomes_total{kind}, as the PostgreSQL
// adapter does. XA COMMIT by hand, then ABORT: a heuristic commit.
func TestHeuristicOutcomesAreLoud(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	n := startNode(t, fakecoord.Start(t).Addr, e)
	reg := prometheus.NewRegistry()
	must(t, n.agent.RegisterMetrics(reg))

	n.prepare(t, "rb", "a=+1")
	operator(t, e, "XA ROLLBACK "+xidSQL("rb", e.id))
	wantHeuristicStatus(t, n.decide("rb", true), participant.HeuristicRollbackReason, true)
	batch, err := n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 1,
		Items: []*arbiterpb.DecisionItem{{TxId: "rb", Outcome: arbiterpb.Outcome_OUTCOME_COMMIT}}})
	must(t, err)
	r := batch.GetResults()[0]
	wantHeuristicStatus(t, status.Error(codes.Code(r.GetCode()), r.GetMessage()), participant.HeuristicRollbackReason, false)
	wantErr(t, n.store.Commit(bg, "rb"), mysql.ErrHeuristicRollback)
	if a := e.value(t, "a"); a != -1 {
		t.Fatalf("a = %d after the heuristic rollback", a)
	}

	n.prepare(t, "cm", "a=+1")
	operator(t, e, "XA COMMIT "+xidSQL("cm", e.id))
	wantHeuristicStatus(t, n.decide("cm", false), participant.HeuristicCommitReason, true)
	wantErr(t, n.store.Abort(bg, "cm"), mysql.ErrHeuristicCommit)

	if got := n.store.HeuristicOutcomes(); got != 5 {
		t.Fatalf("HeuristicOutcomes = %d, want 5", got)
	}
	if rb, cm := heuristicLogged(n, "rb"), heuristicLogged(n, "cm"); rb != 3 || cm != 2 {
		t.Fatalf("heuristic error logs: rollback %d, commit %d; want 3 and 2", rb, cm)
	}
	wantMetric(t, reg, "rollback", 2)
	wantMetric(t, reg, "commit", 1)
}

func wantMetric(t *testing.T, reg *prometheus.Registry, kind string, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(counterOf(t, reg, "arbiter_participant_heuristic_outcomes_total", kind)); got != want {
		t.Fatalf("arbiter_participant_heuristic_outcomes_total{kind=%s} = %v, want %v", kind, got, want)
	}
}

// counterOf returns counter name{kind} in reg as a collector (for
// testutil.ToFloat64), failing if it is absent.
func counterOf(t *testing.T, reg *prometheus.Registry, name, kind string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "v", Help: "v"},
						func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no %s{kind=%s} in the registry", name, kind)
	return nil
}
