package mysql_test

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/coordtest"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A real coordinator decides COMMIT; before phase 2 starts, an operator
// runs XA ROLLBACK on the prepared branch. The coordinator's phase 2 must
// recognise the participant's HEURISTIC_ROLLBACK, log it at error level
// with the tx-id, count it in arbiter_phase2_heuristic_outcomes_total and
// keep the transaction unfinished: never a success.
func TestCoordinatorReportsHeuristicRollback(t *testing.T) {
	e := newEnv(t, sharedServer(t))
	core, coordLogs := observer.New(zapcore.ErrorLevel)
	decided, release := make(chan string, 1), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	coord := coordtest.Start(t, zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)).Core())),
		func(cc *coordinator.Config) {
			cc.Failpoint = func(p failpoint.Point, txID string) { // hold phase 2 until the operator has acted
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
	n := startNode(t, coord.Addr, e)
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
	operator(t, e, "XA ROLLBACK "+xidSQL(txID, e.id))
	releaseOnce.Do(func() { close(release) })

	eventually(t, "the coordinator's heuristic error log", func() bool {
		return coordLogs.FilterMessageSnippet("heuristic outcome").FilterField(zap.String("tx-id", txID)).
			FilterField(zap.String("heuristic", "rollback")).Len() > 0
	})
	got := testutil.ToFloat64(counterOf(t, coord.Registry, "arbiter_phase2_heuristic_outcomes_total", "rollback"))
	if got != 1 {
		t.Fatalf("arbiter_phase2_heuristic_outcomes_total{kind=rollback} = %v, want 1", got)
	}
	info, err := coord.Client.Status(bg, txID)
	must(t, err)
	if info.GetFinished() {
		t.Fatal("the coordinator recorded the transaction finished despite the heuristic rollback")
	}
	if n.store.HeuristicOutcomes() == 0 || e.value(t, "a") != -1 {
		t.Fatalf("participant: %d heuristic outcomes, a = %d; want some, and a absent", n.store.HeuristicOutcomes(), e.value(t, "a"))
	}
}
