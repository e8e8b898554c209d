package runner

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// bankWorker runs Jepsen's bank workload: transfers between accounts of
// two different banks (both ways of joining), and reads that lock and read
// every account of every bank in one transaction.
type bankWorker struct {
	id  int
	env *env
	rng *rand.Rand
}

func (w *bankWorker) loop(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 12*time.Second)
		switch {
		case w.env.cfg.Workload == WorkloadTransfers:
			w.transfer(tctx, "coordinator-driven")
		case w.rng.IntN(16) == 0:
			w.read(tctx)
		case i%2 == 0:
			w.transfer(tctx, "coordinator-driven")
		default:
			w.transfer(tctx, "service-driven")
		}
		cancel()
	}
}

func (w *bankWorker) transfer(ctx context.Context, mode string) {
	banks := w.env.cluster.Banks
	from := w.rng.IntN(len(banks))
	to := (from + 1 + w.rng.IntN(len(banks)-1)) % len(banks)
	amount := int64(1 + w.rng.IntN(20))
	op := history.Op{Worker: w.id, Kind: history.KindTransfer, Start: w.env.rec.since(), Mode: mode,
		Participants: []string{banks[from].Name, banks[to].Name},
		Deltas: []history.Delta{
			{Participant: banks[from].Name, Account: w.account(from), Delta: -amount},
			{Participant: banks[to].Name, Account: w.account(to), Delta: amount},
		}}
	op.TxID, op.Outcome, op.Err = w.env.runTransfer(ctx, mode, op.Deltas)
	w.env.rec.op(op)
}

func (w *bankWorker) account(bank int) string {
	return fmt.Sprintf("%s-%d", w.env.cluster.Banks[bank].Name, w.rng.IntN(w.env.cfg.Accounts))
}

// read reads every bank under one transaction, then commits it; the
// balances count only if it committed.
func (w *bankWorker) read(ctx context.Context) {
	op := history.Op{Worker: w.id, Kind: history.KindRead, Start: w.env.rec.since(), Mode: "service-driven"}
	for _, b := range w.env.cluster.Banks {
		op.Participants = append(op.Participants, b.Name)
	}
	txID, err := w.env.cli.Begin(ctx, w.env.cfg.TxTimeout)
	if err != nil {
		op.Outcome, op.Err = history.OutcomeFail, "begin: "+err.Error()
		w.env.rec.op(op)
		return
	}
	op.TxID, op.Read = txID, map[string]int64{}
	tctx := client.WithTxID(ctx, txID)
	for _, b := range w.env.banks {
		resp, err := b.Read(tctx, &bankpb.ReadRequest{})
		if err != nil {
			op.Read = nil
			op.Outcome, op.Err = classify(w.env.cli.Abort(ctx, txID))
			op.Err = "read: " + err.Error() + "; " + op.Err
			w.env.rec.op(op)
			return
		}
		maps.Copy(op.Read, resp.GetBalances())
	}
	op.Outcome, op.Err = classify(w.env.commit(ctx, txID))
	if op.Outcome != history.OutcomeCommit {
		op.Read = nil
	}
	w.env.rec.op(op)
}

// runTransfer begins a transaction and runs deltas in the given mode.
func (e *env) runTransfer(ctx context.Context, mode string, deltas []history.Delta) (string, string, string) {
	if mode == "coordinator-driven" && e.cfg.CommitMode != CommitStandard {
		return e.runOneShot(ctx, deltas)
	}
	txID, err := e.cli.Begin(ctx, e.cfg.TxTimeout)
	if err != nil {
		return "", history.OutcomeFail, "begin: " + err.Error()
	}
	if mode == "coordinator-driven" {
		var branches []*arbiterpb.Branch
		for _, d := range deltas {
			branches = append(branches, &arbiterpb.Branch{ParticipantId: d.Participant,
				Payload: bank.EncodePayload([]*bankpb.Op{{Account: d.Account, Delta: d.Delta}}, nil)})
		}
		out, why := classify(e.commit(ctx, txID, append(branches, e.eventBranch(txID, deltas)...)...))
		return txID, out, why
	}
	tctx := client.WithTxID(ctx, txID)
	for _, d := range deltas {
		if _, err := e.bank(d.Participant).Apply(tctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{{Account: d.Account, Delta: d.Delta}}}); err != nil {
			out, why := classify(e.cli.Abort(ctx, txID))
			return txID, out, "apply at " + d.Participant + ": " + err.Error() + "; " + why
		}
	}
	out, why := classify(e.commit(ctx, txID, e.eventBranch(txID, deltas)...))
	return txID, out, why
}

// runOneShot commits deltas in one Commit call with no Begin; the ID is
// chosen here, so an unknown outcome is still attributed to it.
func (e *env) runOneShot(ctx context.Context, deltas []history.Delta) (string, string, string) {
	var branches []*arbiterpb.Branch
	for _, d := range deltas {
		branches = append(branches, &arbiterpb.Branch{ParticipantId: d.Participant,
			Payload: bank.EncodePayload([]*bankpb.Op{{Account: d.Account, Delta: d.Delta}}, nil)})
	}
	opts := client.RunOptions{TxID: client.NewTxID(), Timeout: e.cfg.TxTimeout}
	branches = append(branches, e.eventBranch(opts.TxID, deltas)...)
	if e.cfg.CommitMode == CommitParallel {
		opts.Mode = client.Parallel
	}
	_, out, err := e.cli.Run(ctx, opts, branches...)
	o, why := classify(out, err)
	return opts.TxID, o, why
}

// commit is Commit of a begun transaction in the configured mode.
func (e *env) commit(ctx context.Context, txID string, branches ...*arbiterpb.Branch) (arbiterpb.Outcome, error) {
	if e.cfg.CommitMode == CommitParallel {
		return e.cli.CommitMode(ctx, client.Parallel, txID, branches...)
	}
	return e.cli.Commit(ctx, txID, branches...)
}

// eventBranch is a transfer's third branch in the events workload: the
// outbox publishes transfer.completed if, and only if, it commits.
func (e *env) eventBranch(txID string, deltas []history.Delta) []*arbiterpb.Branch {
	if e.cluster.Outbox == nil || len(deltas) != 2 {
		return nil
	}
	return []*arbiterpb.Branch{bank.EventBranch(localcluster.OutboxID, bank.TransferCompleted{TxID: txID,
		From: deltas[0].Participant, To: deltas[1].Participant, Amount: deltas[1].Delta})}
}
