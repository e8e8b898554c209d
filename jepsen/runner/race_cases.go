package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// oversizedKey is the length of the race workload's oversized account
// names: over bbolt's 32,768-byte key limit, well under the coordinators'
// payload limit, so the bank is the one that must refuse it.
const oversizedKey = 40000

const (
	coordinatorDriven = "coordinator-driven"
	serviceDriven     = "service-driven"
)

// transfer is the bank workload's transfer, in either join mode.
func (w *raceWorker) transfer(ctx context.Context) {
	a, b := w.pair()
	op := w.op(history.KindTransfer, caseTransfer, "")
	op.Mode, op.Participants, op.Deltas = w.joinMode(), []string{a, b}, w.move(a, b)
	op.TxID, op.Outcome, op.Err = w.env.runTransfer(ctx, op.Mode, op.Deltas)
	w.record(op)
}

// badKey moves money from a real account to an empty or a 40,000-byte
// account name at another bank, in either join mode: the bank must refuse
// the name (a no vote, or a failed Apply and the client's Abort), never
// vote yes on work it cannot commit. Only the real side is recorded as a
// delta (the other names no account a balance could show). Banks on
// PostgreSQL can store a 40,000-byte name, so they get empty ones only
// (MariaDB cannot: its bank refuses the name, a no vote).
func (w *raceWorker) badKey(ctx context.Context) {
	a, b := w.pair()
	key := ""
	if w.rng.IntN(2) == 0 && !w.env.cfg.Postgres {
		key = strings.Repeat("k", oversizedKey)
	}
	amount := int64(1 + w.rng.IntN(20))
	valid := history.Delta{Participant: a, Account: w.account(a), Delta: -amount}
	op := w.op(history.KindTransfer, caseBadKey, "")
	op.Mode, op.Participants, op.Deltas, op.Expect = w.joinMode(), []string{a, b}, []history.Delta{valid}, history.ExpectNotCommitted
	op.TxID, op.Outcome, op.Err = w.env.runTransfer(ctx, op.Mode,
		[]history.Delta{valid, {Participant: b, Account: key, Delta: amount}})
	w.record(op)
}

// abortVsOneShot races a one-shot Run with an Abort of the same ID (and,
// half the time, a Resolve by one of its participants): whichever lands
// first decides, and the other must answer the same decision.
func (w *raceWorker) abortVsOneShot(ctx context.Context) {
	a, b := w.pair()
	deltas := w.move(a, b)
	dAbort, dResolve, resolve := w.jitter(10), w.jitter(10), w.rng.IntN(2) == 0
	at, id := time.Now(), client.NewTxID()
	var bg after
	bg.run(0, func() { w.runOneShot(ctx, caseAbortVsOneShot, id, []string{a, b}, deltas, branchesOf(deltas)) })
	bg.run(dAbort, func() { w.abort(ctx, caseAbortVsOneShot, id) })
	if resolve {
		bg.run(dResolve, func() { w.resolveAs(ctx, caseAbortVsOneShot, id, a) })
	}
	bg.wait()
	w.race.remember(oneShot{txID: id, at: at, branches: branchesOf(deltas)})
}

// lateEnlist begins a tx and commits branches at a and b while bank c does
// service-driven work under the same ID and enlists (starting up to 20 ms
// before the Commit or up to 10 ms after it): c is either in before the
// commit starts (and prepared with the others), prepared before the
// decision, or refused ("committing without you", "already decided") and
// rolls back; never named by a COMMIT it did not vote for. c's work moves
// money between two of its own accounts, so the totals hold whichever way
// it goes. A third of the time c only enlists and never prepares (see
// ghostEnlist).
func (w *raceWorker) lateEnlist(ctx context.Context) {
	a, b, c := w.triple()
	ab, cc := w.move(a, b), w.within(c)
	if w.rng.IntN(3) == 0 {
		w.ghostEnlist(ctx, a, b, c, ab, w.jitter(10)-5*time.Millisecond) // an Enlist alone is quick: aim at the run itself
		return
	}
	lead := w.jitter(30) - 20*time.Millisecond // c starts up to 20 ms before the Commit, or up to 10 ms after
	op := w.op(history.KindCommit, caseLateEnlist, "")
	op.Mode, op.Participants, op.Deltas = coordinatorDriven, []string{a, b}, ab
	txID, err := w.env.cli.Begin(ctx, w.env.cfg.TxTimeout)
	if err != nil {
		op.Outcome, op.Err = history.OutcomeFail, "begin: "+err.Error()
		w.record(op)
		return
	}
	op.TxID = txID
	late := w.op(history.KindTransfer, caseLateEnlist, txID)
	late.Mode, late.Deltas = serviceDriven, cc
	var applyErr error
	var bg after
	bg.run(max(lead, 0), func() { applyErr = w.apply(client.WithTxID(ctx, txID), c, cc) })
	time.Sleep(max(-lead, 0))
	op.Outcome, op.Err = classify(w.env.commit(ctx, txID, branchesOf(ab)...))
	bg.wait()
	w.record(op)
	late.Outcome, late.Err = lateOutcome(applyErr, op.Outcome)
	if applyErr == nil {
		late.Participants = []string{c} // enlisted and prepared: the COMMIT must name it
	}
	w.record(late)
}

// ghostEnlist is lateEnlist with a c that enlists and then never prepares
// (as if it died between its Enlist and its local prepare): once its
// Enlist is accepted the tx cannot commit (c is asked to prepare before
// the decision, and has nothing to prepare), so the Commit must not answer
// COMMIT, and no COMMIT may name c.
func (w *raceWorker) ghostEnlist(ctx context.Context, a, b, c string, ab []history.Delta, lead time.Duration) {
	op := w.op(history.KindCommit, caseLateEnlist, "")
	op.Mode, op.Participants, op.Deltas = coordinatorDriven, []string{a, b}, ab
	txID, err := w.env.cli.Begin(ctx, w.env.cfg.TxTimeout)
	if err != nil {
		op.Outcome, op.Err = history.OutcomeFail, "begin: "+err.Error()
		w.record(op)
		return
	}
	op.TxID = txID
	enlist := w.op(history.KindEnlist, caseLateEnlist, txID)
	var enlistErr error
	var bg after
	bg.run(max(lead, 0), func() { enlistErr = w.enlistAs(ctx, txID, c) })
	time.Sleep(max(-lead, 0))
	op.Outcome, op.Err = classify(w.env.commit(ctx, txID, branchesOf(ab)...))
	bg.wait()
	switch {
	case enlistErr == nil:
		enlist.Status, op.Expect = "ENLISTED", history.ExpectNotCommitted
	case lateRefused(enlistErr):
		enlist.Outcome, enlist.Err = history.OutcomeFail, enlistErr.Error()
	default:
		enlist.Outcome, enlist.Err = history.OutcomeUnknown, enlistErr.Error()
	}
	w.record(enlist)
	w.record(op)
}

// lateOutcome is the outcome of a late enlistee's part: the tx's, if its
// Apply succeeded (it enlisted and prepared); none if it was refused
// before anything was prepared; unknown if the answer was lost.
func lateOutcome(applyErr error, txOutcome string) (string, string) {
	switch {
	case applyErr == nil:
		return txOutcome, ""
	case lateRefused(applyErr):
		return history.OutcomeFail, applyErr.Error()
	}
	return history.OutcomeUnknown, applyErr.Error()
}

// lateRefused reports whether a late enlistee was refused before anything
// was prepared (its work rolled back, or never done).
func lateRefused(err error) bool {
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists:
		return true
	}
	return false
}

// changedRetry runs a one-shot, then runs it again under the same ID with
// another branch set: one more participant, or one swapped for another.
// After a COMMIT the retry must be refused (FAILED_PRECONDITION), after an
// ABORT it must not commit; a third of the time the retry (a superset)
// races the first call instead, and one of the two runs.
func (w *raceWorker) changedRetry(ctx context.Context) {
	a, b, c := w.triple()
	ab, cc := w.move(a, b), w.within(c)
	concurrent := w.rng.IntN(3) == 0
	swap := !concurrent && w.rng.IntN(2) == 0
	delay := w.jitter(10)
	first := branchesOf(ab)
	retry, named := append(branchesOf(ab), branchesOf(cc)...), []string{a, b, c}
	if swap {
		retry, named = append(branchesOf(ab[:1]), branchesOf(cc)...), []string{a, c}
	}
	at, id := time.Now(), client.NewTxID()
	defer w.race.remember(oneShot{txID: id, at: at, branches: first})
	if concurrent {
		var bg after
		bg.run(0, func() { w.runOneShot(ctx, caseChangedRetry, id, []string{a, b}, ab, first) })
		bg.run(delay, func() { w.runOneShot(ctx, caseChangedRetry, id, named, cc, retry) })
		bg.wait()
		return
	}
	out := w.runOneShot(ctx, caseChangedRetry, id, []string{a, b}, ab, first)
	switch out {
	case history.OutcomeCommit:
		w.runOneShotExpect(ctx, caseChangedRetry, id, named, cc, retry, history.ExpectRefused)
	case history.OutcomeAbort:
		w.runOneShotExpect(ctx, caseChangedRetry, id, named, cc, retry, history.ExpectNotCommitted)
	}
}

// abortVsCommit begins a tx, joins a and b (either mode), asks Resolve as a
// early (before the deadline: PENDING), then races Commit, Abort and
// another Resolve as a.
func (w *raceWorker) abortVsCommit(ctx context.Context) {
	a, b := w.pair()
	deltas, mode := w.move(a, b), w.joinMode()
	dAbort, dResolve := w.jitter(10), w.jitter(10)
	txID, err := w.env.cli.Begin(ctx, w.env.cfg.TxTimeout)
	op := w.op(history.KindCommit, caseAbortVsCommit, txID)
	op.Mode, op.Participants, op.Deltas = mode, []string{a, b}, deltas
	if err != nil {
		op.Outcome, op.Err = history.OutcomeFail, "begin: "+err.Error()
		w.record(op)
		return
	}
	var branches []*arbiterpb.Branch
	if mode == coordinatorDriven {
		branches = branchesOf(deltas)
	} else if err := w.applyAll(ctx, txID, deltas); err != nil {
		op.Kind = history.KindTransfer // nothing to race: abort it, as a client would
		op.Outcome, op.Err = classify(w.env.cli.Abort(ctx, txID))
		op.Err = "apply: " + err.Error() + "; " + op.Err
		w.record(op)
		return
	}
	w.resolveAs(ctx, caseAbortVsCommit, txID, a)
	var bg after
	bg.run(0, func() {
		op.Outcome, op.Err = classify(w.env.commit(ctx, txID, branches...))
		w.record(op)
	})
	bg.run(dAbort, func() { w.abort(ctx, caseAbortVsCommit, txID) })
	bg.run(dResolve, func() { w.resolveAs(ctx, caseAbortVsCommit, txID, a) })
	bg.wait()
}

// staleRetry runs a one-shot again, with the same branches, once its ID is
// older than the uniqueness window (a client back from a pause or a
// partition longer than the window): it must be refused with
// FAILED_PRECONDITION, or answered from a record still remembered; never
// run again. With none old enough yet, it races a new one-shot instead.
func (w *raceWorker) staleRetry(ctx context.Context) {
	s, ok := w.race.takeStale(time.Now().Add(-w.env.cfg.UniquenessWindow - time.Second))
	if !ok {
		w.abortVsOneShot(ctx)
		return
	}
	op := w.op(history.KindCommit, caseStaleRetry, s.txID)
	op.Mode, op.Expect = coordinatorDriven, history.ExpectRefusedOrRecorded
	_, out, err := w.env.cli.Run(ctx, w.runOpts(s.txID), s.branches...)
	op.Outcome, op.Err = classify(out, err)
	w.record(op)
}

// runOneShot runs branches as a one-shot under id and records a commit op
// naming parts with deltas; it returns the outcome.
func (w *raceWorker) runOneShot(ctx context.Context, c, id string, parts []string, deltas []history.Delta, branches []*arbiterpb.Branch) string {
	return w.runOneShotExpect(ctx, c, id, parts, deltas, branches, "")
}

func (w *raceWorker) runOneShotExpect(ctx context.Context, c, id string, parts []string, deltas []history.Delta,
	branches []*arbiterpb.Branch, expect string) string {
	op := w.op(history.KindCommit, c, id)
	op.Mode, op.Deltas, op.Expect = coordinatorDriven, deltas, expect
	_, out, err := w.env.cli.Run(ctx, w.runOpts(id), branches...)
	op.Outcome, op.Err = classify(out, err)
	if op.Outcome == history.OutcomeCommit || op.Outcome == history.OutcomeAbort {
		op.Participants = parts // a refused or unanswered call names no one who must hold anything
	}
	w.record(op)
	return op.Outcome
}

func (w *raceWorker) abort(ctx context.Context, c, id string) {
	op := w.op(history.KindAbort, c, id)
	op.Outcome, op.Err = classify(w.env.cli.Abort(ctx, id))
	w.record(op)
}

// apply does deltas (all at participant p) service-driven under ctx's tx.
func (w *raceWorker) apply(ctx context.Context, p string, deltas []history.Delta) error {
	req := &bankpb.ApplyRequest{}
	for _, d := range deltas {
		req.Ops = append(req.Ops, &bankpb.Op{Account: d.Account, Delta: d.Delta})
	}
	_, err := w.env.bank(p).Apply(ctx, req)
	return err
}

// applyAll does each delta service-driven at its participant under txID.
func (w *raceWorker) applyAll(ctx context.Context, txID string, deltas []history.Delta) error {
	tctx := client.WithTxID(ctx, txID)
	for _, d := range deltas {
		if err := w.apply(tctx, d.Participant, []history.Delta{d}); err != nil {
			return fmt.Errorf("at %s: %w", d.Participant, err)
		}
	}
	return nil
}

// branchesOf makes one branch per participant of deltas, in order of
// first appearance.
func branchesOf(deltas []history.Delta) []*arbiterpb.Branch {
	var out []*arbiterpb.Branch
	ops := map[string][]*bankpb.Op{}
	var order []string
	for _, d := range deltas {
		if _, ok := ops[d.Participant]; !ok {
			order = append(order, d.Participant)
		}
		ops[d.Participant] = append(ops[d.Participant], &bankpb.Op{Account: d.Account, Delta: d.Delta})
	}
	for _, p := range order {
		out = append(out, &arbiterpb.Branch{ParticipantId: p, Payload: bank.EncodePayload(ops[p], nil)})
	}
	return out
}

// pair picks two different banks; triple three.
func (w *raceWorker) pair() (string, string) {
	a, b, _ := w.triple()
	return a, b
}

func (w *raceWorker) triple() (string, string, string) {
	banks := w.env.cluster.Banks
	p := w.rng.Perm(len(banks))
	return banks[p[0]].Name, banks[p[1]].Name, banks[p[2%len(p)]].Name
}

// move takes 1-20 from an account at a to one at b.
func (w *raceWorker) move(a, b string) []history.Delta {
	amount := int64(1 + w.rng.IntN(20))
	return []history.Delta{{Participant: a, Account: w.account(a), Delta: -amount},
		{Participant: b, Account: w.account(b), Delta: amount}}
}

// within moves 1-20 between two different accounts of bank p.
func (w *raceWorker) within(p string) []history.Delta {
	amount := int64(1 + w.rng.IntN(20))
	n := w.env.cfg.Accounts
	from := w.rng.IntN(n)
	to := (from + 1 + w.rng.IntN(n-1)) % n
	return []history.Delta{{Participant: p, Account: fmt.Sprintf("%s-%d", p, from), Delta: -amount},
		{Participant: p, Account: fmt.Sprintf("%s-%d", p, to), Delta: amount}}
}

func (w *raceWorker) account(p string) string {
	return fmt.Sprintf("%s-%d", p, w.rng.IntN(w.env.cfg.Accounts))
}

func (w *raceWorker) joinMode() string {
	if w.rng.IntN(2) == 0 {
		return coordinatorDriven
	}
	return serviceDriven
}
