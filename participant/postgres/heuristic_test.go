package postgres_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/coordtest"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/postgres"
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

// heuristicLogged counts the store's error logs of a heuristic outcome for txID.
func heuristicLogged(n *node, txID string) int {
	return n.logs.FilterLevelExact(zapcore.ErrorLevel).FilterMessageSnippet("heuristic outcome").
		FilterField(zap.String("tx-id", txID)).Len()
}

// Both heuristic cases, over gRPC: COMMIT of work rolled back by hand and
// ABORT of work committed by hand are refused with FAILED_PRECONDITION and
// a machine-readable reason (ErrorInfo on Commit/Abort, the message prefix
// in a DecideBatch result), logged at error level and counted in the
// agent's metric arbiter_participant_heuristic_outcomes_total{kind}.
func TestHeuristicOutcomesAreLoud(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	n := startNode(t, fakecoord.Start(t).Addr, e, srv.DSN)
	reg := prometheus.NewRegistry()
	must(t, n.agent.RegisterMetrics(reg))

	n.prepare(t, "rb", "a=+1")
	_, err := e.pool.Exec(bg, "ROLLBACK PREPARED '"+e.gid(t, "rb")+"'")
	must(t, err)
	wantHeuristicStatus(t, n.decide("rb", true), participant.HeuristicRollbackReason, true)
	batch, err := n.pc.DecideBatch(bg, &arbiterpb.DecideBatchRequest{Term: 1,
		Items: []*arbiterpb.DecisionItem{{TxId: "rb", Outcome: arbiterpb.Outcome_OUTCOME_COMMIT}}})
	must(t, err)
	r := batch.GetResults()[0]
	wantHeuristicStatus(t, status.Error(codes.Code(r.GetCode()), r.GetMessage()), participant.HeuristicRollbackReason, false)
	wantErr(t, n.store.Commit(bg, "rb"), postgres.ErrHeuristicRollback)

	n.prepare(t, "cm", "a=+1")
	_, err = e.pool.Exec(bg, "COMMIT PREPARED '"+e.gid(t, "cm")+"'")
	must(t, err)
	wantHeuristicStatus(t, n.decide("cm", false), participant.HeuristicCommitReason, true)
	wantErr(t, n.store.Abort(bg, "cm"), postgres.ErrHeuristicCommit)

	if got := n.store.HeuristicOutcomes(); got != 5 {
		t.Fatalf("HeuristicOutcomes = %d, want 5", got)
	}
	if rb, cm := heuristicLogged(n, "rb"), heuristicLogged(n, "cm"); rb != 3 || cm != 2 {
		t.Fatalf("heuristic error logs: rollback %d, commit %d; want 3 and 2", rb, cm)
	}
	// Two through the agent over gRPC for rb, one for cm; direct store calls bypass the agent.
	wantMetric(t, reg, "rollback", 2)
	wantMetric(t, reg, "commit", 1)
}

// wantMetric checks arbiter_participant_heuristic_outcomes_total{kind}.
func wantMetric(t *testing.T, reg *prometheus.Registry, kind string, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(gatherCounter(t, reg, "arbiter_participant_heuristic_outcomes_total", kind)); got != want {
		t.Fatalf("arbiter_participant_heuristic_outcomes_total{kind=%s} = %v, want %v", kind, got, want)
	}
}

// A real coordinator decides COMMIT; before phase 2 starts, someone rolls
// the prepared transaction back by hand. The coordinator's phase 2 must
// recognise the participant's HEURISTIC_ROLLBACK, log it at error level
// with the tx-id, count it in arbiter_phase2_heuristic_outcomes_total and
// keep the transaction unfinished (it keeps retrying).
func TestCoordinatorReportsHeuristicRollback(t *testing.T) {
	srv := sharedServer(t)
	e := newEnv(t, srv.DSN)
	core, coordLogs := observer.New(zapcore.ErrorLevel)
	decided, release := make(chan string, 1), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	coord := coordtest.Start(t, zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)).Core())),
		func(cc *coordinator.Config) {
			cc.Failpoint = func(p failpoint.Point, txID string) { // hold phase 2 until the test has meddled
				if p != failpoint.AfterDecide {
					return
				}
				select {
				case decided <- txID:
				default:
				}
				select {
				case <-release:
				case <-time.After(30 * time.Second):
				}
			}
		})
	startNode(t, coord.Addr, e, srv.DSN)
	txID, err := coord.Client.Begin(bg, time.Minute)
	must(t, err)
	go func() {
		_, _ = coord.Client.Commit(bg, txID, &arbiterpb.Branch{ParticipantId: e.id, Payload: []byte("a=+1")})
	}()
	select {
	case <-decided:
	case <-time.After(30 * time.Second):
		t.Fatal("the coordinator did not decide within 30s")
	}
	_, err = e.pool.Exec(bg, "ROLLBACK PREPARED '"+e.gid(t, txID)+"'")
	must(t, err)
	releaseOnce.Do(func() { close(release) })

	eventually(t, "the coordinator's heuristic error log", func() bool {
		return coordLogs.FilterMessageSnippet("heuristic outcome").FilterField(zap.String("tx-id", txID)).
			FilterField(zap.String("heuristic", "rollback")).Len() > 0
	})
	if got := testutil.ToFloat64(gatherCounter(t, coord.Registry, "arbiter_phase2_heuristic_outcomes_total", "rollback")); got != 1 {
		t.Fatalf("arbiter_phase2_heuristic_outcomes_total{kind=rollback} = %v, want 1", got)
	}
	info, err := coord.Client.Status(bg, txID)
	must(t, err)
	if info.GetFinished() {
		t.Fatal("the coordinator recorded the transaction finished despite the heuristic rollback")
	}
}

// gatherCounter returns the value of counter name{kind} in reg as a
// collector (for testutil.ToFloat64), failing if it is absent.
func gatherCounter(t *testing.T, reg *prometheus.Registry, name, kind string) prometheus.Collector {
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
