package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// statusWorker runs the transaction-status workload: it prepares a small
// transfer service-driven, then races Commit, Abort and Status calls on the
// same ID from several goroutines. Every call is recorded; the history of
// each ID is checked for linearizability against a write-once register.
type statusWorker struct {
	id    int
	env   *env
	rng   *rand.Rand
	nodes []node
	// resolver calls Resolve as participant resolverID, which no tx
	// names: Resolve must answer it pending or ABORT, never COMMIT.
	resolver   arbiterpb.CoordinatorClient
	resolverID string
	// directs tracks the Status calls sent straight to one node, which run
	// in the background (at most cap(slots) at a time) so that a paused
	// node holds its questions, as a real paused leader would, while the
	// worker goes on deciding transactions through the live ones.
	directs sync.WaitGroup
	slots   chan struct{}
}

func (w *statusWorker) loop(ctx context.Context) {
	nodes, closeNodes := w.dialNodes()
	defer closeNodes()
	w.nodes = nodes
	w.slots = make(chan struct{}, maxDirects)
	closeResolver := w.dialResolver()
	defer closeResolver()
	for ctx.Err() == nil {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 12*time.Second)
		w.once(tctx)
		cancel()
	}
	w.directs.Wait() // every op is recorded before the history is read
}

// node is a connection to one coordinator, bypassing the client's leader
// routing, so that Status can be asked of a node that believes it leads.
type node struct {
	name string
	cli  arbiterpb.CoordinatorClient
}

// dialNodes connects to every coordinator; a node that cannot be dialled
// is left out.
func (w *statusWorker) dialNodes() ([]node, func()) {
	creds, err := w.env.cluster.DialOption("jepsen")
	if err != nil {
		return nil, func() {}
	}
	var nodes []node
	var conns []*grpc.ClientConn
	addrs := w.env.cluster.CoordAddrs()
	for i, c := range w.env.cluster.Coords {
		cc, err := grpc.NewClient(addrs[i], creds)
		if err != nil {
			continue
		}
		conns = append(conns, cc)
		nodes = append(nodes, node{name: c.Name, cli: arbiterpb.NewCoordinatorClient(cc)})
	}
	return nodes, func() {
		for _, cc := range conns {
			_ = cc.Close()
		}
	}
}

func (w *statusWorker) once(ctx context.Context) {
	banks := w.env.cluster.Banks
	a := w.rng.IntN(len(banks))
	b := (a + 1 + w.rng.IntN(len(banks)-1)) % len(banks)
	txID, err := w.env.cli.Begin(ctx, w.env.cfg.TxTimeout)
	if err != nil {
		return
	}
	parts := []string{banks[a].Name, banks[b].Name}
	tctx := client.WithTxID(ctx, txID)
	applied := true
	for i, p := range []int{a, b} {
		delta := []int64{-1, 1}[i]
		acct := banks[p].Name + "-" + itoa(w.rng.IntN(w.env.cfg.Accounts))
		if _, err := w.env.banks[p].Apply(tctx, applyReq(acct, delta)); err != nil {
			applied = false // as a real client would, abort a half-done transfer
			break
		}
	}
	w.race(ctx, txID, parts, applied)
}

// dialResolver connects to one coordinator (a follower forwards) with a
// participant certificate of the worker's own; without one, no resolve ops
// are made.
func (w *statusWorker) dialResolver() func() {
	w.resolverID = "jepsen-resolver-" + itoa(w.id)
	src, err := w.env.cluster.Source(security.RoleParticipant, w.resolverID)
	if err != nil {
		return func() {}
	}
	addrs := w.env.cluster.CoordAddrs()
	cc, err := grpc.NewClient(addrs[w.id%len(addrs)], security.DialTo(src, security.Identity{Role: security.RoleCoordinator}))
	if err != nil {
		return func() {}
	}
	w.resolver = arbiterpb.NewCoordinatorClient(cc)
	return func() { _ = cc.Close() }
}

// race issues Commit (only if every part was applied) and Abort
// concurrently with a few Status reads.
func (w *statusWorker) race(ctx context.Context, txID string, parts []string, applied bool) {
	kinds := []string{history.KindStatus, history.KindStatus}
	if applied {
		kinds = append(kinds, history.KindCommit)
	}
	if !applied || w.rng.IntN(2) == 0 {
		kinds = append(kinds, history.KindAbort)
	}
	if w.resolver != nil && w.rng.IntN(2) == 0 {
		kinds = append(kinds, history.KindResolve)
	}
	var wg sync.WaitGroup
	for i, k := range kinds {
		delay := time.Duration(i*w.rng.IntN(5)) * time.Millisecond // drawn here: rng is not goroutine-safe
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(delay)
			w.call(ctx, k, txID, parts)
		}()
	}
	wg.Wait()
	w.call(ctx, history.KindStatus, txID, parts)
	w.askEveryNode(txID, parts)
	for _, id := range w.env.rec.recent() {
		if id != txID {
			w.askEveryNode(id, nil)
		}
	}
}

// askEveryNode sends Status for txID straight to each coordinator, in the
// background (see direct).
// A node paused meanwhile answers once it resumes, possibly still believing
// it leads: it must not report a decided tx ACTIVE.
func (w *statusWorker) askEveryNode(txID string, parts []string) {
	for _, n := range w.nodes {
		w.direct(n, txID, parts)
	}
}

// maxDirects bounds a worker's Status calls in flight to single nodes.
const maxDirects = 16

// directTimeout bounds a Status sent to one node (and a Resolve): longer
// than a fault is held, so that a paused node answers after it resumes
// rather than the call giving up first.
func (w *statusWorker) directTimeout() time.Duration {
	return max(5*time.Second, w.env.cfg.Hold+4*time.Second)
}

// direct asks one node for the tx's status in the background and records
// the answer as a status op with Op.Node set; an error is recorded as no
// answer. The call does not end with the transaction's context: a paused
// node answers when it resumes.
func (w *statusWorker) direct(n node, txID string, parts []string) {
	w.slots <- struct{}{}
	w.directs.Add(1)
	op := history.Op{Worker: w.id, Kind: history.KindStatus, TxID: txID, Start: w.env.rec.since(), Participants: parts, Node: n.name}
	go func() {
		defer func() { <-w.slots; w.directs.Done() }()
		dctx, cancel := context.WithTimeout(context.Background(), w.directTimeout())
		defer cancel()
		resp, err := n.cli.Status(dctx, &arbiterpb.StatusRequest{TxId: txID})
		recordStatus(&op, resp.GetTx(), err)
		w.env.rec.op(op)
	}()
}

func (w *statusWorker) call(ctx context.Context, kind, txID string, parts []string) {
	op := history.Op{Worker: w.id, Kind: kind, TxID: txID, Start: w.env.rec.since(), Participants: parts}
	switch kind {
	case history.KindCommit:
		op.Outcome, op.Err = classify(w.env.commit(ctx, txID))
	case history.KindAbort:
		op.Outcome, op.Err = classify(w.env.cli.Abort(ctx, txID))
	case history.KindResolve:
		w.resolve(ctx, &op)
	default:
		w.status(ctx, &op)
	}
	w.env.rec.op(op)
}

func (w *statusWorker) status(ctx context.Context, op *history.Op) {
	info, err := w.env.cli.Status(ctx, op.TxID)
	recordStatus(op, info, err)
}

// recordStatus fills a status op from an answer or an error.
func recordStatus(op *history.Op, info *arbiterpb.TxInfo, err error) {
	switch {
	case err == nil:
		op.Status = stateName(info.GetState())
		op.Outcome = map[string]string{"COMMITTED": history.OutcomeCommit, "ABORTED": history.OutcomeAbort}[op.Status]
	case status.Code(err) == codes.NotFound:
		op.Status = "NOT_FOUND"
	case errors.Is(err, client.ErrOutcomeUnknown):
		op.Outcome, op.Err = history.OutcomeUnknown, err.Error()
	default:
		op.Outcome, op.Err = history.OutcomeUnknown, err.Error()
	}
}

// resolve asks the coordinators, as a participant the tx does not name,
// how the tx ended; the answer goes to Op.Status, an error makes the op's
// outcome unknown (it may still have decided ABORT).
func (w *statusWorker) resolve(ctx context.Context, op *history.Op) {
	rctx, cancel := context.WithTimeout(ctx, w.directTimeout())
	defer cancel()
	resp, err := w.resolver.Resolve(rctx, &arbiterpb.ResolveRequest{TxId: op.TxID, ParticipantId: w.resolverID})
	if err != nil {
		op.Outcome, op.Err = history.OutcomeUnknown, err.Error()
		return
	}
	switch resp.GetOutcome() {
	case arbiterpb.Outcome_OUTCOME_COMMIT:
		op.Status = "COMMIT"
	case arbiterpb.Outcome_OUTCOME_ABORT:
		op.Status = "ABORT"
	default:
		op.Status = "PENDING"
	}
}
