package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// worker moves money between accounts of two different banks, alternating
// the two ways of joining a transaction: coordinator-driven (branches with
// payloads) and service-driven (the banks' own Apply API under the
// transaction ID, then Commit with no branches).
type worker struct {
	id       int
	c        *localcluster.Cluster
	cli      *client.Client
	banks    []bankpb.BankClient
	conns    []*grpc.ClientConn
	accounts int
	s        *summary
	rng      *rand.Rand
}

func newWorker(id int, c *localcluster.Cluster, cli *client.Client, creds grpc.DialOption, accounts int, s *summary) *worker {
	w := &worker{id: id, c: c, cli: cli, accounts: accounts, s: s, rng: rand.New(rand.NewPCG(uint64(id), 42))}
	for _, b := range c.Banks {
		cc, err := grpc.NewClient(b.Addr, creds,
			grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()))
		if err != nil {
			panic(err) // only fails on a malformed address, which New never makes
		}
		w.conns = append(w.conns, cc)
		w.banks = append(w.banks, bankpb.NewBankClient(cc))
	}
	return w
}

// close closes the worker's connections to the banks.
func (w *worker) close() {
	for _, cc := range w.conns {
		_ = cc.Close()
	}
}

func (w *worker) loop(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		from, to := w.rng.IntN(len(w.banks)), 0
		for to = w.rng.IntN(len(w.banks)); to == from; to = w.rng.IntN(len(w.banks)) {
		}
		amount := int64(1 + w.rng.IntN(50))
		debit := &bankpb.Op{Account: w.account(from), Delta: -amount}
		credit := &bankpb.Op{Account: w.account(to), Delta: amount}
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		if i%2 == 0 {
			w.coordinatorDriven(tctx, from, to, debit, credit)
		} else {
			w.serviceDriven(tctx, from, to, debit, credit)
		}
		cancel()
	}
}

func (w *worker) account(bank int) string {
	return fmt.Sprintf("%s-%d", w.c.Banks[bank].Name, w.rng.IntN(w.accounts))
}

func (w *worker) coordinatorDriven(ctx context.Context, from, to int, debit, credit *bankpb.Op) {
	txID, err := w.cli.Begin(ctx, 5*time.Second)
	if err != nil {
		w.s.beginFailed(coordinatorDriven)
		return
	}
	out, err := w.cli.Commit(ctx, txID, append([]*arbiterpb.Branch{
		{ParticipantId: w.c.Banks[from].Name, Payload: bank.EncodePayload([]*bankpb.Op{debit}, nil)},
		{ParticipantId: w.c.Banks[to].Name, Payload: bank.EncodePayload([]*bankpb.Op{credit}, nil)}},
		w.eventBranch(txID, from, to, credit.GetDelta())...)...)
	w.s.record(coordinatorDriven, txID, out, err)
}

func (w *worker) serviceDriven(ctx context.Context, from, to int, debit, credit *bankpb.Op) {
	txID, err := w.cli.Begin(ctx, 5*time.Second)
	if err != nil {
		w.s.beginFailed(serviceDriven)
		return
	}
	tctx := client.WithTxID(ctx, txID)
	_, err = w.banks[from].Apply(tctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{debit}})
	if err == nil {
		_, err = w.banks[to].Apply(tctx, &bankpb.ApplyRequest{Ops: []*bankpb.Op{credit}})
	}
	if err != nil {
		out, aerr := w.cli.Abort(ctx, txID)
		w.s.record(serviceDriven, txID, out, aerr)
		return
	}
	out, err := w.cli.Commit(ctx, txID, w.eventBranch(txID, from, to, credit.GetDelta())...)
	w.s.record(serviceDriven, txID, out, err)
}
