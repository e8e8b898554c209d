package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// finish heals everything, waits for recovery, runs a final transaction,
// reads the balances, stops the processes and collects their durable state.
func (e *env) finish(ctx context.Context) (*history.Final, error) {
	e.progress("workload done; healing every fault")
	e.healAll(ctx)
	if hasCrashPoints(e.cfg) || e.cfg.Broken != "" {
		e.restartClean()
	}
	healedAt := time.Now()
	f := &history.Final{LivenessWait: e.cfg.LivenessWait, Opening: e.cfg.Opening,
		Expected: int64(len(e.cluster.Banks)*e.cfg.Accounts) * e.cfg.Opening}
	e.waitSettled(ctx, healedAt.Add(e.cfg.LivenessWait))
	f.Prepared = e.prepared(ctx)
	e.progress(fmt.Sprintf("liveness checked %v after the heal", time.Since(healedAt).Round(time.Millisecond)))
	e.finalTx(ctx, f)
	e.waitSettled(ctx, time.Now().Add(10*time.Second))
	bal, err := e.balances(ctx)
	if err != nil {
		return nil, err
	}
	f.Balances = bal
	e.waitPublished(ctx)
	e.cluster.Stop()
	if err := e.collect(ctx, f); err != nil {
		return nil, err
	}
	if e.broker != nil {
		if f.Events, err = e.collectEvents(ctx); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// restartClean restarts every process without crash points or broken
// modes, so that recovery is observed on a correct, crash-free cluster.
func (e *env) restartClean() {
	for _, p := range e.cluster.All() {
		p.SetEnv(nil)
		_ = p.Stop(3 * time.Second)
		_ = p.Start()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = e.waitReady(ctx)
}

// waitSettled polls until nothing is prepared and nothing is open, or until.
func (e *env) waitSettled(ctx context.Context, until time.Time) {
	for time.Now().Before(until) && ctx.Err() == nil {
		prepared, open, err := e.cluster.InDoubt(ctx)
		if err == nil && prepared == 0 && open == 0 {
			return
		}
		backoff.Sleep(ctx, 200*time.Millisecond)
	}
}

func (e *env) prepared(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	for _, b := range e.cluster.Banks {
		r, err := localcluster.Inspect(ctx, b)
		if err != nil {
			out[b.Name] = []string{"(did not answer: " + err.Error() + ")"}
			continue
		}
		for _, p := range r.GetPrepared() {
			out[b.Name] = append(out[b.Name], p.GetTxId())
		}
	}
	return out
}

// finalTx moves 1 between the first two banks; it must commit.
func (e *env) finalTx(ctx context.Context, f *history.Final) {
	banks := e.cluster.Banks
	op := history.Op{Kind: history.KindFinal, Start: e.rec.since(), Mode: "coordinator-driven",
		Participants: []string{banks[0].Name, banks[1].Name},
		Deltas: []history.Delta{
			{Participant: banks[0].Name, Account: banks[0].Name + "-0", Delta: 0},
			{Participant: banks[1].Name, Account: banks[1].Name + "-0", Delta: 0},
		}}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	op.TxID, op.Outcome, op.Err = e.runTransfer(tctx, op.Mode, op.Deltas)
	e.rec.op(op)
	f.FinalTxOK = op.Outcome == history.OutcomeCommit
	if !f.FinalTxOK {
		f.FinalTxErr = fmt.Sprintf("outcome %s: %s", op.Outcome, op.Err)
	}
}

func (e *env) balances(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, b := range e.cluster.Banks {
		r, err := localcluster.Balances(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("final balances of %s: %w", b.Name, err)
		}
		for k, v := range r.GetBalances() {
			out[k] = v
		}
	}
	return out, nil
}
