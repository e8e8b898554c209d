package runner

import (
	"context"
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

// raceWorker runs the race workload: every call of the API raced against
// another on the same transaction, and input the participants cannot
// store. Each iteration picks a case with the seeded generator (see
// raceCases); every call is recorded, so the bank's checkers (atomicity,
// durability, exactly-once, conservation), the log-derived uniqueness and
// votes-before-commit checks, linearizability (commit, abort and
// resolve-member ops) and expected-answers (ops that probe a refusal) all
// read it.
type raceWorker struct {
	id   int
	env  *env
	rng  *rand.Rand
	race *raceShared
}

// raceShared is what the race workers share: connections that resolve as
// each bank, and the one-shots run so far, for retries past the window.
type raceShared struct {
	members map[string][]arbiterpb.CoordinatorClient // bank -> one client per coordinator, with the bank's identity
	conns   []*grpc.ClientConn

	mu    sync.Mutex
	shots []oneShot // oldest first
}

// oneShot is a one-shot Run a later stale-retry runs again.
type oneShot struct {
	txID     string
	at       time.Time
	branches []*arbiterpb.Branch
}

// newRaceShared dials every coordinator once per bank with a participant
// certificate of that bank's identity (issued before any worker starts;
// the banks loaded theirs at start), so a worker can Resolve as a member.
// Without TLS the identity is not checked and the plain connection serves.
func newRaceShared(e *env) (*raceShared, error) {
	r := &raceShared{members: map[string][]arbiterpb.CoordinatorClient{}}
	for _, b := range e.cluster.Banks {
		src, err := e.cluster.Source(security.RoleParticipant, b.Name)
		if err != nil {
			r.close()
			return nil, err
		}
		for _, addr := range e.cluster.CoordAddrs() {
			cc, err := grpc.NewClient(addr, security.DialTo(src, security.Identity{Role: security.RoleCoordinator}))
			if err != nil {
				r.close()
				return nil, err
			}
			r.conns = append(r.conns, cc)
			r.members[b.Name] = append(r.members[b.Name], arbiterpb.NewCoordinatorClient(cc))
		}
	}
	return r, nil
}

func (r *raceShared) close() {
	for _, cc := range r.conns {
		_ = cc.Close()
	}
}

// remember keeps a one-shot for a stale retry.
func (r *raceShared) remember(s oneShot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shots = append(r.shots, s)
}

// takeStale removes and returns the oldest one-shot created before cut.
func (r *raceShared) takeStale(cut time.Time) (oneShot, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.shots) == 0 || !r.shots[0].at.Before(cut) {
		return oneShot{}, false
	}
	s := r.shots[0]
	r.shots = r.shots[1:]
	return s, true
}

func (w *raceWorker) loop(ctx context.Context) {
	cases := raceCases()
	total := 0
	for _, c := range cases {
		total += c.weight
	}
	for ctx.Err() == nil {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 12*time.Second)
		pick := w.rng.IntN(total)
		for _, c := range cases {
			if pick -= c.weight; pick < 0 {
				c.run(w, tctx)
				break
			}
		}
		cancel()
	}
}

// raceCase is one kind of iteration, drawn with probability weight/total.
type raceCase struct {
	weight int
	run    func(*raceWorker, context.Context)
}

func raceCases() []raceCase {
	return []raceCase{
		{3, (*raceWorker).transfer},
		{1, (*raceWorker).badKey},
		{2, (*raceWorker).abortVsOneShot},
		{3, (*raceWorker).lateEnlist},
		{2, (*raceWorker).changedRetry},
		{2, (*raceWorker).abortVsCommit},
		{1, (*raceWorker).staleRetry},
	}
}

// The race workload's cases, as they appear in Op.Case.
const (
	caseTransfer       = "transfer"
	caseBadKey         = "bad-key"
	caseAbortVsOneShot = "abort-vs-one-shot"
	caseLateEnlist     = "late-enlist"
	caseChangedRetry   = "changed-retry"
	caseAbortVsCommit  = "abort-vs-commit"
	caseStaleRetry     = "stale-retry"
)

// RaceCases lists the race workload's cases (Op.Case).
func RaceCases() []string {
	return []string{caseTransfer, caseBadKey, caseAbortVsOneShot, caseLateEnlist, caseChangedRetry, caseAbortVsCommit, caseStaleRetry}
}

// op starts an op of this worker.
func (w *raceWorker) op(kind, c, txID string) history.Op {
	return history.Op{Worker: w.id, Kind: kind, Case: c, TxID: txID, Start: w.env.rec.since()}
}

// record clips the op's error (a refusal may quote a 40,000-byte key) and
// records it.
func (w *raceWorker) record(op history.Op) {
	if len(op.Err) > maxErrLen {
		op.Err = op.Err[:maxErrLen] + "..."
	}
	w.env.rec.op(op)
}

// maxErrLen bounds Op.Err in the race workload's history.
const maxErrLen = 400

// resolveAs asks the coordinators, as participant bank (a member of the
// tx), how txID ends, and records the answer as a resolve-member op; every
// coordinator is tried once, from the worker's own. Safe to call from the
// worker's goroutines (it draws nothing from the generator).
func (w *raceWorker) resolveAs(ctx context.Context, c, txID, bank string) {
	op := w.op(history.KindResolveMember, c, txID)
	nodes := w.race.members[bank]
	first := w.id % len(nodes)
	var err error
	for i := range nodes {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var resp *arbiterpb.ResolveResponse
		resp, err = nodes[(first+i)%len(nodes)].Resolve(rctx, &arbiterpb.ResolveRequest{TxId: txID, ParticipantId: bank})
		cancel()
		if err == nil {
			op.Status = map[arbiterpb.Outcome]string{arbiterpb.Outcome_OUTCOME_COMMIT: "COMMIT",
				arbiterpb.Outcome_OUTCOME_ABORT: "ABORT"}[resp.GetOutcome()]
			if op.Status == "" {
				op.Status = "PENDING"
			}
			w.record(op)
			return
		}
		if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
			break
		}
	}
	op.Outcome, op.Err = history.OutcomeUnknown, err.Error()
	w.record(op)
}

// enlistAs enlists bank in txID as the bank itself would before its local
// prepare, but no local work follows: a participant that dies (or whose
// prepare fails) right after its Enlist, without killing a process. It
// returns the error of the first coordinator that answered.
func (w *raceWorker) enlistAs(ctx context.Context, txID, bank string) error {
	nodes := w.race.members[bank]
	var err error
	for i := range nodes {
		ectx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err = nodes[(w.id+i)%len(nodes)].Enlist(ectx, &arbiterpb.EnlistRequest{TxId: txID, ParticipantId: bank})
		cancel()
		if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
			return err
		}
	}
	return err
}

// runOpts are the options of a one-shot Run of txID in the run's mode.
func (w *raceWorker) runOpts(txID string) client.RunOptions {
	opts := client.RunOptions{TxID: txID, Timeout: w.env.cfg.TxTimeout}
	if w.env.cfg.CommitMode == CommitParallel {
		opts.Mode = client.Parallel
	}
	return opts
}

// after runs fn in the background after d; wait waits for every such fn.
type after struct{ wg sync.WaitGroup }

func (a *after) run(d time.Duration, fn func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		time.Sleep(d)
		fn()
	}()
}

func (a *after) wait() { a.wg.Wait() }

// jitter is a delay up to n ms, drawn by the worker (its generator is not
// safe for the goroutines it starts).
func (w *raceWorker) jitter(n int) time.Duration {
	return time.Duration(w.rng.IntN(n+1)) * time.Millisecond
}
