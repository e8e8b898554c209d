package coordinator_test

// A randomized, model-based test of the whole client and participant API
// against the in-process three-node cluster (issue 11, "Prove it" item 2).
//
// Each seed drives a fresh cluster with four bank participants through a
// plan chosen by a seeded math/rand: a handful of transaction IDs (begun,
// one-shot, or older than the uniqueness window), each with a few calls
// started at nearly the same moment so that they race: Commit in the
// standard and parallel modes (SDK and raw, retried with the same and with
// another branch set), one-shot Runs, service-driven work through a
// participant agent's Do, a bare Enlist (a service that crashed between its
// Enlist and its local prepare), Abort, Status, Resolve as a participant
// (early ones too) and Refuse sent to a participant; meanwhile the leader is
// killed and restarted once or twice. A third of the seeds make racy plans
// (modelRacy): twelve begun transactions whose first Commit is raced by a
// bare Enlist sent to the leader a few milliseconds earlier, the race of
// issue 11. Every call and its answer is recorded, and every node's FSM is
// sampled every 50 ms while the calls run. Once everything has settled
// (bounded), modelCheck compares the history, the samples, every node's FSM
// and every participant's store with a small abstract model:
//
//	(a) a participant named by a COMMIT holds the work prepared when the
//	    COMMIT is first seen and committed in the end, and one that holds
//	    committed work is named by a COMMIT (no COMMIT without a durable
//	    yes vote, no split outcome, nothing left in doubt);
//	(b) every node records the same outcome for every ID, and no sample of
//	    any node's FSM taken during the run ever saw an ID change outcome;
//	(c) every answer matches the log: COMMIT/ABORT answers, Status, Resolve,
//	    Refuse, successful Do and Enlist; a participant named by a COMMIT was
//	    brought in by a call that was not refused; an ID past the window is
//	    never run or recorded;
//
// and every bank account holds exactly its opening balance plus the deltas
// of the transactions its participant committed (money is conserved).
//
// The choices are deterministic in the seed; goroutine scheduling is not.
// A failure names the seed and how to run it alone:
//
//	ARBITER_MODEL_SEED=<seed> go test -race -count=1 -run TestModelRandomizedInterleavings ./coordinator/
//
// ARBITER_MODEL_SEEDS=<n> (or -args -model.seeds=<n>) runs n random seeds;
// ARBITER_MODEL_HISTORY=1 logs every seed's plan and history, passed or not.
//
// TestModelCatchesEnlistIntoCommit shows that the checker sees the bug
// class: against coordinator.BrokenEnlistIntoCommit it must report (a).

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/txid"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

var (
	modelSeedsFlag = flag.Int("model.seeds", 0, "random seeds TestModelRandomizedInterleavings runs (0: $ARBITER_MODEL_SEEDS, else 5)")
	modelSeedFlag  = flag.Int64("model.seed", 0, "run the model tests with this one seed only (0: $ARBITER_MODEL_SEED, else random seeds)")
)

const (
	modelDefaultSeeds = 5
	modelOpening      = 100              // every account's opening balance
	modelOpTimeout    = 8 * time.Second  // bounds every recorded call
	modelSettleFor    = 30 * time.Second // bounds the wait for phase 2 and recovery
)

// modelParts are the bank participants of every seed.
var modelParts = []string{"a", "b", "c", "d"}

// TestModelRandomizedInterleavings runs the model test for each seed; see
// the top of this file.
func TestModelRandomizedInterleavings(t *testing.T) {
	// Every other random seed makes a racy plan (modelRacy).
	alternate := func(i int, s int64) int64 { return s - s%3 + int64(i%2) }
	for _, seed := range modelSeeds(t, modelDefaultSeeds, alternate) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			res := runModel(t, seed, nil, modelSettleFor)
			t.Logf("seed %d: %s", seed, res.summary)
			if os.Getenv("ARBITER_MODEL_HISTORY") != "" {
				t.Logf("seed %d: plan and history:\n%s", seed, res.history)
			}
			if len(res.violations) > 0 {
				t.Errorf("seed %d: %d violation(s) of the model:\n  %s\nplan and history:\n%s\nreproduce: %s",
					seed, len(res.violations), strings.Join(res.violations, "\n  "), res.history, modelRepro(seed, "TestModelRandomizedInterleavings"))
			}
		})
	}
}

// TestModelCatchesEnlistIntoCommit runs the model test, with racy plans
// (modelRacy), against the deliberately broken coordinator that
// names in a COMMIT a participant that enlisted while the commit was being
// decided and never voted (it bypasses the FSM's rule 1, issue 11), and
// expects the checker to report class (a) within a bounded number of
// seeds; it stops at the first seed that shows it.
func TestModelCatchesEnlistIntoCommit(t *testing.T) {
	broken := func(cfg *coordinator.Config) { cfg.Broken = coordinator.BrokenEnlistIntoCommit }
	racy := func(_ int, s int64) int64 { return s - s%3 }
	seeds := modelSeeds(t, 4, racy)
	for i, seed := range seeds {
		var res modelResult
		// A caught seed never settles (phase 2 retries a COMMIT the
		// participant cannot apply), so its wait is short.
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { res = runModel(t, seed, broken, 5*time.Second) })
		var caught []string
		for _, v := range res.violations {
			if strings.Contains(v, "(a)") {
				caught = append(caught, v)
			}
		}
		t.Logf("broken seed %d (%d of %d): %s; %d violation(s), %d of class (a)", seed, i+1, len(seeds), res.summary, len(res.violations), len(caught))
		if os.Getenv("ARBITER_MODEL_HISTORY") != "" {
			t.Logf("seed %d: violations:\n  %s\nplan and history:\n%s", seed, strings.Join(res.violations, "\n  "), res.history)
		}
		if len(caught) > 0 {
			t.Logf("seed %d: the checker caught %s:\n  %s", seed, coordinator.BrokenEnlistIntoCommit, strings.Join(caught, "\n  "))
			return
		}
	}
	t.Fatalf("seeds %v: the checker found no class (a) violation with Config.Broken = %s: the model test cannot see the bug it exists for",
		seeds, coordinator.BrokenEnlistIntoCommit)
}

// modelSeeds returns the seeds to run: the one named by -model.seed or
// ARBITER_MODEL_SEED, else n random ones (n from -model.seeds or
// ARBITER_MODEL_SEEDS when set), the i-th passed through shape.
func modelSeeds(t *testing.T, n int, shape func(i int, seed int64) int64) []int64 {
	t.Helper()
	if *modelSeedFlag != 0 {
		return []int64{*modelSeedFlag}
	}
	if v := os.Getenv("ARBITER_MODEL_SEED"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s == 0 {
			t.Fatalf("ARBITER_MODEL_SEED=%q: want a non-zero integer", v)
		}
		return []int64{s}
	}
	if *modelSeedsFlag > 0 {
		n = *modelSeedsFlag
	} else if v := os.Getenv("ARBITER_MODEL_SEEDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("ARBITER_MODEL_SEEDS=%q: want a positive count", v)
		}
	}
	seeds := make([]int64, n)
	for i := range seeds {
		seeds[i] = shape(i, 3+rand.Int64N(1<<40))
	}
	return seeds
}

func modelRepro(seed int64, test string) string {
	return fmt.Sprintf("ARBITER_MODEL_SEED=%d go test -race -count=1 -run '^%s$' ./coordinator/", seed, test)
}

// ---- the plan: every choice of a seed, made before anything runs ----

type modelSlotKind int

const (
	slotBegun   modelSlotKind = iota // Begin, then calls by its ID
	slotOneShot                      // a fresh client.NewTxID, one-shot calls
	slotStale                        // an ID older than the uniqueness window
)

func (k modelSlotKind) String() string { return [...]string{"begun", "one-shot", "stale"}[k] }

type modelOpKind int

const (
	opBegin   modelOpKind = iota
	opCommit              // Commit of a begun ID with branches
	opOneShot             // one-shot Commit (SDK Run, or raw one_shot)
	opDo                  // service-driven work through the agent's Do
	opEnlist              // a bare Enlist: the service crashed before it prepared
	opAbort
	opStatus
	opResolve // as the participant
	opRefuse  // sent to the participant, with the leader's term
)

func (k modelOpKind) String() string {
	return [...]string{"begin", "commit", "one-shot", "do", "enlist", "abort", "status", "resolve", "refuse"}[k]
}

type modelOp struct {
	kind  modelOpKind
	at    time.Duration // after the slot's ID is known
	parts []string      // the branches, or the one participant
	mode  arbiterpb.CommitMode
	raw   bool // a raw gRPC call (one attempt per node) rather than the SDK
	node  int  // the node a raw call tries first
}

func (o modelOp) String() string {
	s := o.kind.String()
	if o.kind == opCommit || o.kind == opOneShot {
		s += "(" + strings.TrimPrefix(o.mode.String(), "COMMIT_MODE_")
		if o.raw {
			s += ",raw"
		}
		s += ")"
	}
	if len(o.parts) > 0 {
		s += fmt.Sprint(o.parts)
	}
	return s
}

type modelSlot struct {
	k       int
	kind    modelSlotKind
	start   time.Duration // after the seed's start
	timeout time.Duration // the transaction's lifetime
	deltas  map[string]int64
	reads   map[string]bool // a read-only branch at that participant
	base    []string        // the branch set of the first commit
	alt     []string        // another branch set, for retries that differ
	ops     []modelOp
}

type modelFault struct{ at, down time.Duration }

type modelPlan struct {
	seed   int64
	racy   bool
	slots  []*modelSlot
	faults []modelFault // leader kills
}

// modelRacy tells the seeds that make racy plans: a third of them. A racy
// plan has twelve begun transactions, each with its first Commit
// (standard, to the leader) raced by a bare Enlist: the window in which a
// participant can enlist into a commit being decided is about one Raft
// round wide, and a racy plan tries it often enough to hit it within a
// seed or two.
func modelRacy(seed int64) bool { return seed%3 == 0 }

// newModelPlan makes the plan of a seed.
func newModelPlan(seed int64) *modelPlan {
	racy := modelRacy(seed)
	r := rand.New(rand.NewPCG(uint64(seed), 0x6d6f64656c))
	p := &modelPlan{seed: seed, racy: racy}
	n := 6 + r.IntN(3)
	if racy {
		n = 12
	}
	for k := range n {
		p.slots = append(p.slots, newModelSlot(r, k, racy))
	}
	// A kill costs an election (about 1-2 s with the harness's timeouts):
	// a second one waits until the first has healed.
	first := modelFault{at: modelMs(r, 300, 2000), down: modelMs(r, 300, 1000)}
	p.faults = append(p.faults, first)
	if r.IntN(2) == 0 {
		p.faults = append(p.faults, modelFault{at: first.at + first.down + modelMs(r, 1500, 2500), down: modelMs(r, 300, 1000)})
	}
	return p
}

func newModelSlot(r *rand.Rand, k int, racy bool) *modelSlot {
	s := &modelSlot{k: k, start: modelMs(r, 0, 3500), timeout: modelMs(r, 1500, 3000),
		deltas: map[string]int64{}, reads: map[string]bool{}}
	switch x := r.IntN(20); {
	case x < 12 || racy:
		s.kind = slotBegun
	case x < 18:
		s.kind = slotOneShot
	default:
		s.kind = slotStale
	}
	for _, p := range modelParts {
		s.deltas[p], s.reads[p] = int64(r.IntN(9)-4), r.IntN(8) == 0
	}
	s.base = modelSubset(r, 1+r.IntN(3))
	s.alt = modelOther(r, s.base)
	s.reads[s.base[0]], s.reads[s.alt[0]] = false, false // every branch set writes
	n := 3 + r.IntN(5)
	if s.kind != slotBegun || racy || r.IntN(10) > 0 {
		s.ops = append(s.ops, s.commitOp(r, s.base, modelMs(r, 10, 40)))
	}
	if s.kind == slotBegun && len(s.ops) > 0 && (racy || r.IntN(5) < 3) {
		if racy || r.IntN(3) > 0 {
			s.ops[0].raw, s.ops[0].node, s.ops[0].mode = true, modelLeader, arbiterpb.CommitMode_COMMIT_MODE_STANDARD
		}
		s.ops = append(s.ops, s.racer(r, s.ops[0].at, racy))
	}
	for len(s.ops) < n {
		s.ops = append(s.ops, s.randomOp(r))
	}
	return s
}

func modelMs(r *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo+r.IntN(hi-lo+1)) * time.Millisecond
}

// modelSubset is n distinct participants in a random order.
func modelSubset(r *rand.Rand, n int) []string {
	out := make([]string, 0, n)
	for _, i := range r.Perm(len(modelParts))[:n] {
		out = append(out, modelParts[i])
	}
	return out
}

// modelOther is base with one participant added or replaced; the newcomer
// comes first.
func modelOther(r *rand.Rand, base []string) []string {
	var outside []string
	for _, p := range modelParts {
		if !slices.Contains(base, p) {
			outside = append(outside, p)
		}
	}
	if len(outside) == 0 {
		return base[:len(base)-1] // all four: drop one
	}
	next := outside[r.IntN(len(outside))]
	rest := slices.Clone(base)
	if r.IntN(2) == 0 {
		rest = slices.Delete(rest, 0, 1)
	}
	return append([]string{next}, rest...)
}

func (s *modelSlot) commitOp(r *rand.Rand, parts []string, at time.Duration) modelOp {
	op := modelOp{kind: opCommit, at: at, parts: parts, raw: r.IntN(5) < 2, node: r.IntN(4) - 1}
	if r.IntN(5) < 2 {
		op.mode = arbiterpb.CommitMode_COMMIT_MODE_PARALLEL
	}
	if s.kind != slotBegun {
		op.kind = opOneShot
	}
	return op
}

// randomOp picks a call by the slot's weights; most start within 80 ms of
// one another (they race), a quarter later (retries, late questions).
func (s *modelSlot) randomOp(r *rand.Rand) modelOp {
	at := modelMs(r, 0, 80)
	if r.IntN(4) == 0 {
		at = modelMs(r, 300, 1800)
	}
	weights := map[modelSlotKind][]int{ // same, other set, do, enlist, abort, status, resolve, refuse
		slotBegun:   {3, 1, 3, 2, 1, 2, 1, 1},
		slotOneShot: {3, 1, 1, 0, 2, 2, 2, 1},
		slotStale:   {2, 0, 1, 0, 1, 1, 1, 1},
	}[s.kind]
	x := r.IntN(modelSum(weights))
	i := 0
	for ; x >= weights[i]; i++ {
		x -= weights[i]
	}
	node := r.IntN(4) - 1 // modelLeader, or a node
	switch i {
	case 0:
		return s.commitOp(r, s.base, at)
	case 1:
		return s.commitOp(r, s.alt, at)
	case 2:
		return modelOp{kind: opDo, at: at, parts: []string{modelParts[r.IntN(len(modelParts))]}}
	case 3:
		return modelOp{kind: opEnlist, at: at, parts: []string{s.outsider(r)}, node: node}
	case 4:
		return modelOp{kind: opAbort, at: at, raw: r.IntN(2) == 0, node: node}
	case 5:
		return modelOp{kind: opStatus, at: at}
	case 6:
		return modelOp{kind: opResolve, at: at, parts: []string{s.member(r)}, node: node}
	default:
		return modelOp{kind: opRefuse, at: at, parts: []string{s.member(r)}}
	}
}

func modelSum(ws []int) int {
	n := 0
	for _, w := range ws {
		n += w
	}
	return n
}

// racer is an Enlist (bare, or through Do) sent to the leader up to 6 ms
// before the first Commit: its ENLIST is in the log while the commit
// starts, about one Raft round after the Enlist arrived.
func (s *modelSlot) racer(r *rand.Rand, commitAt time.Duration, racy bool) modelOp {
	at := commitAt - time.Duration(r.IntN(7))*time.Millisecond
	if r.IntN(3) == 0 && !racy {
		return modelOp{kind: opDo, at: at, parts: []string{modelParts[r.IntN(len(modelParts))]}}
	}
	return modelOp{kind: opEnlist, at: at, parts: []string{s.outsider(r)}, node: modelLeader}
}

// modelLeader as modelOp.node sends a raw call to the leader first (as
// the test goroutine last saw it).
const modelLeader = -1

// outsider is a participant in neither branch set, if there is one.
func (s *modelSlot) outsider(r *rand.Rand) string {
	var out []string
	for _, p := range modelParts {
		if !slices.Contains(s.base, p) && !slices.Contains(s.alt, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return modelParts[r.IntN(len(modelParts))]
	}
	return out[r.IntN(len(out))]
}

// member is mostly a participant of the first branch set.
func (s *modelSlot) member(r *rand.Rand) string {
	if r.IntN(10) < 7 {
		return s.base[r.IntN(len(s.base))]
	}
	return modelParts[r.IntN(len(modelParts))]
}

func modelAccount(p string, k int) string { return fmt.Sprintf("%s-s%d", p, k) }

// payload is participant p's work in this slot: the same for every branch
// and Do, so that the work is applied once whichever way it arrives.
func (s *modelSlot) payload(p string) []byte {
	acct := modelAccount(p, s.k)
	if s.reads[p] {
		return bank.EncodePayload(nil, []string{acct})
	}
	return bank.EncodePayload([]*bankpb.Op{{Account: acct, Delta: s.deltas[p]}}, nil)
}

func (s *modelSlot) delta(p string) int64 {
	if s.reads[p] {
		return 0
	}
	return s.deltas[p]
}

func (s *modelSlot) branches(parts []string) []*arbiterpb.Branch {
	out := make([]*arbiterpb.Branch, 0, len(parts))
	for _, p := range parts {
		out = append(out, &arbiterpb.Branch{ParticipantId: p, Payload: s.payload(p)})
	}
	return out
}

func (p *modelPlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  seed %d (racy=%v); leader kills at", p.seed, p.racy)
	for _, f := range p.faults {
		fmt.Fprintf(&b, " +%v (down %v)", f.at, f.down)
	}
	for _, s := range p.slots {
		fmt.Fprintf(&b, "\n  tx %d: %v at +%v, timeout %v, branches %v, other set %v, deltas", s.k, s.kind, s.start, s.timeout, s.base, s.alt)
		for _, q := range modelParts {
			fmt.Fprintf(&b, " %s:%+d", q, s.delta(q))
			if s.reads[q] {
				b.WriteString("(read)")
			}
		}
		b.WriteString("; calls:")
		for _, op := range s.ops {
			fmt.Fprintf(&b, " %v@%v", op, op.at)
		}
	}
	return b.String()
}

// ---- running a plan ----

// modelEvent is one recorded call and its answer.
type modelEvent struct {
	slot       int
	op         modelOp
	start, end time.Time
	out        arbiterpb.Outcome    // Commit, Run, Abort, Resolve
	info       *arbiterpb.TxInfo    // Status
	local      arbiterpb.LocalState // Refuse
	tx         string               // Begin
	err        error
	code       codes.Code
	// uncertain: an attempt ended without an answer and the call was
	// retried (or gave up), so it may have acted whatever it answered.
	uncertain bool
}

type modelEnv struct {
	t      *testing.T
	c      *testCluster
	plan   *modelPlan
	addrs  []string
	dial   []grpc.DialOption                           // the SDK clients' (certificate "model")
	raw    []arbiterpb.CoordinatorClient               // per node, as client "model"
	as     map[string][]arbiterpb.CoordinatorClient    // per participant, per node, as that participant
	peer   map[string]arbiterpb.ParticipantClient      // per participant, as a coordinator
	agent  map[string]*participant.Agent[*embedded.Tx] // for Do
	store  map[string]*embedded.Store
	term   atomic.Uint64 // the leader's term, for Refuse
	leader atomic.Int32  // the leader's index in c.nodes, for raw calls

	mu     sync.Mutex
	t0     time.Time
	events []*modelEvent
	txs    []string // per slot, once known

	// Owned by the test goroutine (the nemesis and the sampler).
	kills int
	seen  map[string]modelSeen
	voted map[string]bool // tx/participant: checked by votedBefore
	flips []string        // violations seen while the run went on
}

// modelSeen is the first decision the sampler saw for an ID.
type modelSeen struct {
	state   arbiterpb.TxState
	node    string
	at      time.Duration
	flipped bool // a later sample disagreed (reported once)
}

func newModelEnv(t *testing.T, plan *modelPlan, tweak func(*coordinator.Config)) *modelEnv {
	c := newTestClusterWith(t, tweak)
	e := &modelEnv{t: t, c: c, plan: plan, addrs: c.coordAddrs(), txs: make([]string, len(plan.slots)),
		as: map[string][]arbiterpb.CoordinatorClient{}, peer: map[string]arbiterpb.ParticipantClient{},
		agent: map[string]*participant.Agent[*embedded.Tx]{}, store: map[string]*embedded.Store{}, seen: map[string]modelSeen{}, voted: map[string]bool{}}
	e.dial = client.TLSDialOptions(c.pki.Source(security.RoleClient, "model"))
	var accts []int
	for _, s := range plan.slots {
		accts = append(accts, s.k)
	}
	for _, id := range modelParts {
		p := c.addParticipant(id)
		var names []string
		for _, k := range accts {
			names = append(names, modelAccount(id, k))
		}
		if err := bank.Seed(context.Background(), p.store, names, modelOpening); err != nil {
			t.Fatal(err)
		}
		e.agent[id], e.store[id] = p.agent, p.store
		e.peer[id] = arbiterpb.NewParticipantClient(modelConnect(c.dialPart(p, security.RoleCoordinator, "model")))
		for _, addr := range e.addrs {
			e.as[id] = append(e.as[id], arbiterpb.NewCoordinatorClient(modelConnect(c.dial(addr, security.RoleParticipant, id))))
		}
	}
	for _, addr := range e.addrs {
		e.raw = append(e.raw, arbiterpb.NewCoordinatorClient(modelConnect(c.dial(addr, security.RoleClient, "model"))))
	}
	leader := c.waitLeader()
	e.term.Store(leader.node.Term())
	e.leader.Store(int32(slices.Index(c.nodes, leader)))
	return e
}

// modelConnect starts connecting cc now, so that the TLS handshake is not
// part of the first call's latency (the racing calls are timed).
func modelConnect(cc *grpc.ClientConn) *grpc.ClientConn {
	cc.Connect()
	return cc
}

// run starts every slot and runs the leader kills and the FSM sampler on
// the test goroutine (the harness's nodes are not safe to touch from
// others) until every call has returned.
func (e *modelEnv) run() {
	e.t0 = time.Now()
	var wg sync.WaitGroup
	for _, s := range e.plan.slots {
		wg.Go(func() { e.runSlot(s) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	e.nemesis(done)
}

func (e *modelEnv) runSlot(s *modelSlot) {
	modelSleepUntil(e.t0.Add(s.start))
	tx := e.slotID(s)
	if tx == "" {
		return
	}
	e.mu.Lock()
	e.txs[s.k] = tx
	e.mu.Unlock()
	base := time.Now()
	var wg sync.WaitGroup
	for _, op := range s.ops {
		wg.Go(func() {
			modelSleepUntil(base.Add(op.at))
			e.exec(s, tx, op)
		})
	}
	wg.Wait()
}

// slotID is the slot's transaction ID: Begin's (retried within
// modelOpTimeout), a fresh one-shot ID, or one older than the window.
func (e *modelEnv) slotID(s *modelSlot) string {
	switch s.kind {
	case slotOneShot:
		return client.NewTxID()
	case slotStale:
		return modelStaleID()
	}
	ev := &modelEvent{slot: s.k, op: modelOp{kind: opBegin}, start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), modelOpTimeout)
	defer cancel()
	cli := e.sdk(ev)
	defer cli.Close()
	ev.tx, ev.err = cli.Begin(ctx, s.timeout)
	e.record(ev)
	return ev.tx
}

// modelStaleID is an ID made twenty minutes ago: older than the default
// uniqueness window (15 minutes).
func modelStaleID() string { return txid.New(time.Now().Add(-20 * time.Minute)) }

func modelSleepUntil(at time.Time) {
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}

func (e *modelEnv) record(ev *modelEvent) {
	ev.end, ev.code = time.Now(), status.Code(ev.err)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

// sdk is a client SDK of its own for one call, so that its retries are
// known to be this call's.
func (e *modelEnv) sdk(ev *modelEvent) *client.Client {
	cli, err := client.New(client.Config{Addresses: e.addrs, ClientID: "model", DialOptions: e.dial,
		OnRetry: func(error) { ev.uncertain = true }})
	if err != nil {
		panic(err) // static config: cannot happen
	}
	return cli
}

// rawCall sends f to the nodes in turn, starting at first, until one gives
// an answer that is not "try elsewhere" or ctx ends.
func (e *modelEnv) rawCall(ctx context.Context, ev *modelEvent, nodes []arbiterpb.CoordinatorClient, first int, f func(context.Context, arbiterpb.CoordinatorClient) error) error {
	if first == modelLeader {
		first = int(e.leader.Load())
	}
	var err error
	for i := first; ; i++ {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = f(actx, nodes[i%len(nodes)])
		cancel()
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			ev.uncertain = true
		default:
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *modelEnv) exec(s *modelSlot, tx string, op modelOp) {
	ev := &modelEvent{slot: s.k, op: op, start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), modelOpTimeout)
	defer cancel()
	switch op.kind {
	case opCommit, opOneShot:
		e.commit(ctx, ev, s, tx)
	case opDo:
		p := op.parts[0]
		ev.err = e.agent[p].Do(client.WithTxID(ctx, tx), func(ctx context.Context, ltx *embedded.Tx) error {
			return bank.Handler(ctx, ltx, s.payload(p))
		})
	case opEnlist:
		ev.err = e.rawCall(ctx, ev, e.as[op.parts[0]], op.node, func(ctx context.Context, cc arbiterpb.CoordinatorClient) error {
			_, err := cc.Enlist(ctx, &arbiterpb.EnlistRequest{TxId: tx, ParticipantId: op.parts[0]})
			return err
		})
	case opAbort:
		e.abort(ctx, ev, tx)
	case opStatus:
		cli := e.sdk(ev)
		ev.info, ev.err = cli.Status(ctx, tx)
		cli.Close()
	case opResolve:
		ev.err = e.rawCall(ctx, ev, e.as[op.parts[0]], op.node, func(ctx context.Context, cc arbiterpb.CoordinatorClient) error {
			resp, err := cc.Resolve(ctx, &arbiterpb.ResolveRequest{TxId: tx, ParticipantId: op.parts[0]})
			ev.out = resp.GetOutcome()
			return err
		})
	case opRefuse:
		resp, err := e.peer[op.parts[0]].Refuse(ctx, &arbiterpb.RefuseRequest{TxId: tx, Term: e.term.Load()})
		ev.local, ev.err = resp.GetState(), err
	}
	e.record(ev)
}

func (e *modelEnv) commit(ctx context.Context, ev *modelEvent, s *modelSlot, tx string) {
	op := ev.op
	branches := s.branches(op.parts)
	if op.raw {
		req := &arbiterpb.CommitRequest{TxId: tx, Branches: branches, Mode: op.mode, ClientId: "model"}
		if op.kind == opOneShot {
			req.OneShot, req.TimeoutMillis = true, s.timeout.Milliseconds()
		}
		ev.err = e.rawCall(ctx, ev, e.raw, op.node, func(ctx context.Context, cc arbiterpb.CoordinatorClient) error {
			resp, err := cc.Commit(ctx, req)
			ev.out = resp.GetOutcome()
			return err
		})
		return
	}
	cli := e.sdk(ev)
	defer cli.Close()
	if op.kind == opOneShot {
		_, ev.out, ev.err = cli.Run(ctx, client.RunOptions{TxID: tx, Mode: op.mode, Timeout: s.timeout}, branches...)
		return
	}
	ev.out, ev.err = cli.CommitMode(ctx, op.mode, tx, branches...)
}

func (e *modelEnv) abort(ctx context.Context, ev *modelEvent, tx string) {
	if ev.op.raw {
		ev.err = e.rawCall(ctx, ev, e.raw, ev.op.node, func(ctx context.Context, cc arbiterpb.CoordinatorClient) error {
			resp, err := cc.Abort(ctx, &arbiterpb.AbortRequest{TxId: tx})
			ev.out = resp.GetOutcome()
			return err
		})
		return
	}
	cli := e.sdk(ev)
	defer cli.Close()
	ev.out, ev.err = cli.Abort(ctx, tx)
}

// nemesis kills the leader at the plan's times and restarts it after its
// down time, sampling every node's FSM every 50 ms, until done.
func (e *modelEnv) nemesis(done <-chan struct{}) {
	pending := slices.Clone(e.plan.faults)
	var down *testNode
	var upAt time.Time
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		e.sample()
		leader := e.leaderNow()
		if leader != nil {
			e.term.Store(leader.node.Term())
			e.leader.Store(int32(slices.Index(e.c.nodes, leader)))
		}
		switch now := time.Now(); {
		case down != nil && now.After(upAt):
			e.c.restart(down)
			down = nil
		case down == nil && leader != nil && len(pending) > 0 && now.After(e.t0.Add(pending[0].at)):
			e.c.kill(leader)
			down, upAt, pending = leader, now.Add(pending[0].down), pending[1:]
			e.kills++
		}
		select {
		case <-done:
			if down != nil {
				e.c.restart(down)
			}
			return
		case <-tick.C:
		}
	}
}

func (e *modelEnv) leaderNow() *testNode {
	for _, n := range e.c.nodes {
		if n.up && n.node.IsLeader() {
			return n
		}
	}
	return nil
}

func (e *modelEnv) knownTxs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.txs)
}

// sample reads every running node's FSM: an ID once seen decided one way
// must never be seen decided the other way, on any node.
func (e *modelEnv) sample() {
	for k, tx := range e.knownTxs() {
		if tx == "" {
			continue
		}
		for _, n := range e.c.nodes {
			if !n.up {
				continue
			}
			rec, ok := n.node.FSM().Get(tx)
			if !ok || !modelDecided(rec.GetState()) {
				continue
			}
			e.votedBefore(k, tx, n.id, rec)
			first, seen := e.seen[tx]
			switch {
			case !seen:
				e.seen[tx] = modelSeen{state: rec.GetState(), node: n.id, at: time.Since(e.t0)}
			case first.state != rec.GetState() && !first.flipped:
				e.flips = append(e.flips, fmt.Sprintf("tx %d (%s): (b) decided twice: %v on %s at +%v, then %v on %s at +%v",
					k, tx, modelState(first.state), first.node, first.at.Round(time.Millisecond), modelState(rec.GetState()), n.id, time.Since(e.t0).Round(time.Millisecond)))
				first.flipped = true // once per ID
				e.seen[tx] = first
			}
		}
	}
}

// votedBefore checks, while the run goes on, that every participant a
// COMMIT on some node names holds the work prepared or committed right now:
// its yes vote was durable before the decision, and stays so until the
// commit (a). Checked once per ID and participant.
func (e *modelEnv) votedBefore(k int, tx, node string, rec *arbiterpb.TxRecord) {
	if rec.GetState() != arbiterpb.TxState_TX_STATE_COMMITTED {
		return
	}
	for _, p := range rec.GetParticipants() {
		key := tx + "/" + p
		if e.voted[key] || e.store[p] == nil {
			continue
		}
		st, err := e.store[p].State(context.Background(), tx)
		if err != nil {
			e.t.Fatalf("%s: state of %s: %v", p, tx, err)
		}
		switch st {
		case participant.StatePrepared, participant.StateCommitted:
		default:
			e.flips = append(e.flips, fmt.Sprintf("tx %d (%s): (a) the COMMIT on %s names %s %v, which held the transaction %v at +%v: a COMMIT without its durable yes vote",
				k, tx, node, p, rec.GetParticipants(), st, time.Since(e.t0).Round(time.Millisecond)))
		}
		e.voted[key] = true
	}
}

// settle waits, up to bound, until every recorded ID is decided and
// finished identically on every node and no participant holds anything
// prepared; it returns what is still unsettled ("" when settled).
func (e *modelEnv) settle(bound time.Duration) string {
	for _, n := range e.c.nodes {
		if !n.up {
			e.c.restart(n)
		}
	}
	deadline := time.Now().Add(bound)
	for {
		e.sample()
		why := e.unsettled()
		if why == "" || time.Now().After(deadline) {
			return why
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *modelEnv) unsettled() string {
	leader := e.leaderNow()
	if leader == nil {
		return "no leader"
	}
	txs := e.knownTxs()
	for k, tx := range txs {
		if tx == "" {
			continue
		}
		rec, ok := leader.node.FSM().Get(tx)
		if ok && (!modelDecided(rec.GetState()) || !rec.GetFinished()) {
			return fmt.Sprintf("tx %d (%s) is %v, finished=%v on the leader", k, tx, modelState(rec.GetState()), rec.GetFinished())
		}
		for _, n := range e.c.nodes {
			other, ok2 := n.node.FSM().Get(tx)
			if ok != ok2 || other.GetState() != rec.GetState() || other.GetFinished() != rec.GetFinished() {
				return fmt.Sprintf("%s has not caught up with the leader on tx %d", n.id, k)
			}
		}
	}
	for _, p := range modelParts {
		list, err := e.store[p].Prepared(context.Background())
		if err != nil {
			return fmt.Sprintf("%s: list prepared: %v", p, err)
		}
		for _, pt := range list {
			if k := slices.Index(txs, pt.TxID); k >= 0 {
				return fmt.Sprintf("%s still holds tx %d prepared", p, k)
			}
		}
	}
	return ""
}

// modelFinal is the state the checker reads once the run has settled.
type modelFinal struct {
	nodes []string
	recs  map[string][]*arbiterpb.TxRecord        // tx ID -> per node (nil: no record)
	local map[string]map[string]participant.State // participant -> tx ID -> state
	bal   map[string]map[int]int64                // participant -> slot -> balance
}

func (e *modelEnv) final() *modelFinal {
	f := &modelFinal{recs: map[string][]*arbiterpb.TxRecord{}, local: map[string]map[string]participant.State{}, bal: map[string]map[int]int64{}}
	for _, n := range e.c.nodes {
		f.nodes = append(f.nodes, n.id)
	}
	for _, tx := range e.knownTxs() {
		if tx == "" {
			continue
		}
		for _, n := range e.c.nodes {
			rec, _ := n.node.FSM().Get(tx)
			f.recs[tx] = append(f.recs[tx], rec)
		}
	}
	for _, p := range modelParts {
		f.local[p], f.bal[p] = map[string]participant.State{}, map[int]int64{}
		for _, tx := range e.knownTxs() {
			if tx != "" {
				st, err := e.store[p].State(context.Background(), tx)
				if err != nil {
					e.t.Fatalf("%s: state of %s: %v", p, tx, err)
				}
				f.local[p][tx] = st
			}
		}
		for _, s := range e.plan.slots {
			v, ok, err := e.store[p].Read(modelAccount(p, s.k))
			n, perr := strconv.ParseInt(string(v), 10, 64)
			if err != nil || !ok || perr != nil {
				e.t.Fatalf("%s: read %s: %q ok=%v err=%v %v", p, modelAccount(p, s.k), v, ok, err, perr)
			}
			f.bal[p][s.k] = n
		}
	}
	return f
}

type modelResult struct {
	violations []string
	summary    string
	history    string
}

// runModel runs one seed on a fresh cluster (tweak applies to every node's
// config) and checks it.
func runModel(t *testing.T, seed int64, tweak func(*coordinator.Config), settleFor time.Duration) modelResult {
	t.Helper()
	began := time.Now()
	plan := newModelPlan(seed)
	t.Logf("seed %d: %d transactions (racy=%v), %d leader kill(s) planned; reproduce: %s", seed, len(plan.slots), plan.racy, len(plan.faults), modelRepro(seed, t.Name()))
	e := newModelEnv(t, plan, tweak)
	e.run()
	ran := time.Since(e.t0)
	why := e.settle(settleFor)
	m := &modelCheck{plan: plan, txs: e.knownTxs(), events: e.events, fin: e.final(), flips: e.flips, unsettled: why, t0: e.t0}
	v := m.violations()
	for i := range v {
		v[i] = fmt.Sprintf("seed=%d %s", seed, v[i])
	}
	return modelResult{violations: v, history: plan.String() + "\n" + m.history(),
		summary: fmt.Sprintf("%d calls in %v, %d leader kill(s), %s, settled in %v, %v in all",
			len(e.events), ran.Round(time.Millisecond), e.kills, m.tally(), (time.Since(e.t0) - ran).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))}
}

// ---- the checker ----

// modelCheck compares a run's history and final state with the model.
// It only reads; violations returns what disagrees, one line each.
type modelCheck struct {
	plan      *modelPlan
	txs       []string
	events    []*modelEvent
	fin       *modelFinal
	flips     []string
	unsettled string
	t0        time.Time
}

// modelDecision is what the log decided for one ID: the record's state and
// the participants its COMMIT names. A one-phase commit whose record was
// never written (the leader died first) is decided by its participant's
// store, its only record.
type modelDecision struct {
	state    arbiterpb.TxState // UNKNOWN: no decision (presumed abort)
	parts    []string          // named by the COMMIT
	readOnly []string          // listed by the COMMIT as read-only voters
	recorded bool
}

func (m *modelCheck) violations() []string {
	v := slices.Clone(m.flips)
	if m.unsettled != "" {
		v = append(v, "not settled in time (liveness): "+m.unsettled)
	}
	for _, s := range m.plan.slots {
		tx := m.txs[s.k]
		if tx == "" {
			v = append(v, m.balances(s, "")...)
			continue
		}
		add := func(format string, args ...any) {
			v = append(v, fmt.Sprintf("tx %d (%s): ", s.k, tx)+fmt.Sprintf(format, args...))
		}
		d := m.decision(s, tx, add)
		m.stores(tx, d, add)
		m.answers(s, tx, d, add)
		m.sources(s, d, add)
		if s.kind == slotStale {
			m.stale(s, tx, d, add)
		}
		v = append(v, m.balances(s, tx)...)
	}
	return v
}

// decision reads the ID's record on every node, which must agree (b).
func (m *modelCheck) decision(s *modelSlot, tx string, add func(string, ...any)) modelDecision {
	var ref *arbiterpb.TxRecord
	refNode := ""
	for i, rec := range m.fin.recs[tx] {
		switch {
		case rec == nil:
		case ref == nil:
			ref, refNode = rec, m.fin.nodes[i]
		case modelDecided(rec.GetState()) && modelDecided(ref.GetState()) &&
			(rec.GetState() != ref.GetState() || !slices.Equal(rec.GetParticipants(), ref.GetParticipants())):
			add("(b) nodes disagree: %s has %v %v, %s has %v %v", refNode, modelState(ref.GetState()), ref.GetParticipants(),
				m.fin.nodes[i], modelState(rec.GetState()), rec.GetParticipants())
		}
		if m.unsettled == "" && (rec == nil) != (m.fin.recs[tx][0] == nil) {
			add("(b) %s and %s disagree on whether the ID has a record", m.fin.nodes[0], m.fin.nodes[i])
		}
	}
	if ref != nil {
		d := modelDecision{state: ref.GetState(), recorded: true}
		if d.state == arbiterpb.TxState_TX_STATE_COMMITTED {
			d.parts, d.readOnly = ref.GetParticipants(), ref.GetReadOnly()
		}
		return d
	}
	var committed []string
	for _, p := range modelParts {
		if m.fin.local[p][tx] == participant.StateCommitted {
			committed = append(committed, p)
		}
	}
	if len(committed) == 0 {
		return modelDecision{}
	}
	if len(committed) > 1 || s.kind != slotOneShot {
		add("(a) %v committed the work, and no node has a record of the ID (only a one-phase commit, one participant, may lack one)", committed)
	}
	return modelDecision{state: arbiterpb.TxState_TX_STATE_COMMITTED, parts: committed}
}

// stores: a COMMIT names exactly the participants that hold the work
// committed (a); nothing is left in doubt.
func (m *modelCheck) stores(tx string, d modelDecision, add func(string, ...any)) {
	for _, p := range modelParts {
		st := m.fin.local[p][tx]
		named := d.state == arbiterpb.TxState_TX_STATE_COMMITTED && slices.Contains(d.parts, p)
		switch {
		case named && st != participant.StateCommitted:
			add("(a) the COMMIT names %s (%v), which holds the transaction %v: named without a durable yes vote, or its commit was lost", p, d.parts, st)
		case !named && st == participant.StateCommitted:
			add("(a) %s committed its work, but the log says %v naming %v: a split outcome", p, modelState(d.state), d.parts)
		case st == participant.StatePrepared:
			add("(a) %s still holds the transaction prepared (in doubt) after settling; the log says %v", p, modelState(d.state))
		}
	}
}

// answers: every answer a call got matches the log (c).
func (m *modelCheck) answers(s *modelSlot, tx string, d modelDecision, add func(string, ...any)) {
	var decided []*modelEvent // answers that told a decision, in the order they ended
	for _, ev := range m.slotEvents(s.k) {
		if ev.err == nil && modelAnswered(ev) != arbiterpb.TxState_TX_STATE_UNKNOWN {
			decided = append(decided, ev)
		}
	}
	for _, ev := range m.slotEvents(s.k) {
		// No decision is a presumed abort: it matches an ABORT answer.
		committed := d.state == arbiterpb.TxState_TX_STATE_COMMITTED
		if want := modelAnswered(ev); ev.err == nil && (want == arbiterpb.TxState_TX_STATE_COMMITTED) != committed &&
			want != arbiterpb.TxState_TX_STATE_UNKNOWN {
			add("(c) %s answered %v, but the log says %v", m.describe(ev), modelState(want), modelState(d.state))
		}
		m.answer(s, ev, d, decided, add)
	}
}

// answer checks the answers that say more than an outcome.
func (m *modelCheck) answer(s *modelSlot, ev *modelEvent, d modelDecision, decided []*modelEvent, add func(string, ...any)) {
	committedWith := func(p string) bool {
		return d.state == arbiterpb.TxState_TX_STATE_COMMITTED && slices.Contains(d.parts, p)
	}
	committedWithout := func(p string) bool {
		return d.state == arbiterpb.TxState_TX_STATE_COMMITTED && !slices.Contains(d.parts, p)
	}
	if (ev.op.kind == opCommit || ev.op.kind == opOneShot) && ev.err == nil && ev.out == arbiterpb.Outcome_OUTCOME_COMMIT && d.state == arbiterpb.TxState_TX_STATE_COMMITTED {
		for _, p := range ev.op.parts {
			if !slices.Contains(d.parts, p) && !slices.Contains(d.readOnly, p) {
				add("(c) %s answered COMMIT, but the COMMIT neither names %s (%v) nor lists it read-only (%v): that branch did not commit", m.describe(ev), p, d.parts, d.readOnly)
			}
		}
	}
	switch op := ev.op; {
	case op.kind == opStatus && ev.err == nil && ev.info.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED && !slices.Equal(ev.info.GetParticipants(), d.parts):
		add("(c) %s reported participants %v, the COMMIT names %v", m.describe(ev), ev.info.GetParticipants(), d.parts)
	case op.kind == opStatus && !modelDecided(ev.info.GetState()) && (ev.err == nil || s.kind == slotBegun && ev.code == codes.NotFound):
		if first := modelEndedBefore(decided, ev.start); first != nil {
			add("(c) %s answered a stale %s after %s had answered", m.describe(ev), modelStatusText(ev), m.describe(first))
		} else if ev.code == codes.NotFound {
			add("(c) %s: NOT_FOUND for a begun transaction", m.describe(ev))
		}
	case op.kind == opResolve && ev.err == nil && ev.out == arbiterpb.Outcome_OUTCOME_COMMIT && !committedWith(op.parts[0]):
		add("(c) %s answered COMMIT, but the log does not commit %s (%v %v)", m.describe(ev), op.parts[0], modelState(d.state), d.parts)
	case op.kind == opResolve && ev.err == nil && ev.out == arbiterpb.Outcome_OUTCOME_ABORT && committedWith(op.parts[0]):
		add("(c) %s told %s ABORT, but the COMMIT names it %v", m.describe(ev), op.parts[0], d.parts)
	case op.kind == opRefuse && ev.err == nil && ev.local == arbiterpb.LocalState_LOCAL_STATE_REFUSED && committedWith(op.parts[0]):
		add("(a) %s: %s refused (no yes vote possible any more), yet the COMMIT names it %v", m.describe(ev), op.parts[0], d.parts)
	case op.kind == opDo && ev.err == nil && committedWithout(op.parts[0]):
		add("(c) %s succeeded (enlisted and prepared), but the COMMIT leaves %s out (%v): its work is lost", m.describe(ev), op.parts[0], d.parts)
	case op.kind == opEnlist && ev.err == nil && committedWithout(op.parts[0]) && !slices.Contains(d.readOnly, op.parts[0]):
		add("(c) %s succeeded, but the COMMIT neither names %s (%v) nor lists it read-only (%v)", m.describe(ev), op.parts[0], d.parts, d.readOnly)
	case op.kind == opDo && ev.err == nil && !d.recorded:
		add("(c) %s succeeded (enlisted and prepared), but no node has a record", m.describe(ev))
	case op.kind == opAbort && ev.code == codes.NotFound && d.state == arbiterpb.TxState_TX_STATE_COMMITTED:
		add("(c) %s answered NOT_FOUND ('never happened'), but the ID committed %v", m.describe(ev), d.parts)
	}
}

// sources: a participant named by a COMMIT was brought in by a call that
// was not refused (a branch of a Commit that was not refused, or a Do that
// succeeded): a refusal changes nothing (c).
func (m *modelCheck) sources(s *modelSlot, d modelDecision, add func(string, ...any)) {
	if d.state != arbiterpb.TxState_TX_STATE_COMMITTED {
		return
	}
	for _, p := range d.parts {
		var from []string
		found := false
		for _, ev := range m.slotEvents(s.k) {
			switch ev.op.kind {
			case opCommit, opOneShot:
				if slices.Contains(ev.op.parts, p) {
					from = append(from, m.describe(ev)+" -> "+m.answerText(ev))
					found = found || !modelRefused(ev)
				}
			case opDo:
				if ev.op.parts[0] == p {
					from = append(from, m.describe(ev)+" -> "+m.answerText(ev))
					found = found || ev.err == nil
				}
			case opEnlist:
				if ev.op.parts[0] == p {
					from = append(from, m.describe(ev)+" -> "+m.answerText(ev)+" (no work behind it)")
				}
			}
		}
		if !found {
			add("(c) the COMMIT names %s, but no call that was not refused gave it work to vote yes on: %v", p, from)
		}
	}
}

// stale: an ID older than the uniqueness window is never run or recorded.
func (m *modelCheck) stale(s *modelSlot, tx string, d modelDecision, add func(string, ...any)) {
	if d.recorded || d.state != arbiterpb.TxState_TX_STATE_UNKNOWN {
		add("an ID older than the uniqueness window was decided: %v %v (recorded=%v)", modelState(d.state), d.parts, d.recorded)
	}
	for _, ev := range m.slotEvents(s.k) {
		if ev.op.kind == opOneShot && ev.code != codes.FailedPrecondition {
			add("%s of an ID older than the window: %s, want FAILED_PRECONDITION", m.describe(ev), m.answerText(ev))
		}
	}
}

// balances: each account holds its opening balance plus the slot's delta
// if, and only if, its participant committed the slot's transaction.
func (m *modelCheck) balances(s *modelSlot, tx string) []string {
	var v []string
	for _, p := range modelParts {
		want := int64(modelOpening)
		if tx != "" && m.fin.local[p][tx] == participant.StateCommitted {
			want += s.delta(p)
		}
		if got := m.fin.bal[p][s.k]; got != want {
			v = append(v, fmt.Sprintf("tx %d (%s): money: %s holds %d, want %d (opening %d, delta %+d, state %v)",
				s.k, tx, modelAccount(p, s.k), got, want, modelOpening, s.delta(p), m.fin.local[p][tx]))
		}
	}
	return v
}

func (m *modelCheck) slotEvents(k int) []*modelEvent {
	var out []*modelEvent
	for _, ev := range m.events {
		if ev.slot == k {
			out = append(out, ev)
		}
	}
	slices.SortStableFunc(out, func(a, b *modelEvent) int { return a.start.Compare(b.start) })
	return out
}

// modelAnswered is the outcome an answer states (UNKNOWN: none).
func modelAnswered(ev *modelEvent) arbiterpb.TxState {
	switch ev.op.kind {
	case opCommit, opOneShot, opAbort:
		return modelStateOf(ev.out)
	case opStatus:
		if modelDecided(ev.info.GetState()) {
			return ev.info.GetState()
		}
	}
	return arbiterpb.TxState_TX_STATE_UNKNOWN
}

func modelStateOf(out arbiterpb.Outcome) arbiterpb.TxState {
	switch out {
	case arbiterpb.Outcome_OUTCOME_COMMIT:
		return arbiterpb.TxState_TX_STATE_COMMITTED
	case arbiterpb.Outcome_OUTCOME_ABORT:
		return arbiterpb.TxState_TX_STATE_ABORTED
	}
	return arbiterpb.TxState_TX_STATE_UNKNOWN
}

func modelEndedBefore(evs []*modelEvent, t time.Time) *modelEvent {
	for _, ev := range evs {
		if ev.end.Before(t) {
			return ev
		}
	}
	return nil
}

func modelDecided(st arbiterpb.TxState) bool {
	return st == arbiterpb.TxState_TX_STATE_COMMITTED || st == arbiterpb.TxState_TX_STATE_ABORTED
}

// modelRefused reports a call refused outright: it changed nothing.
func modelRefused(ev *modelEvent) bool {
	if ev.err == nil || ev.uncertain {
		return false
	}
	switch ev.code {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied, codes.ResourceExhausted:
		return true
	}
	return false
}

func modelState(st arbiterpb.TxState) string {
	if st == arbiterpb.TxState_TX_STATE_UNKNOWN {
		return "no decision"
	}
	return strings.TrimPrefix(st.String(), "TX_STATE_")
}

func modelStatusText(ev *modelEvent) string {
	if ev.err != nil {
		return ev.code.String()
	}
	return modelState(ev.info.GetState())
}

func (m *modelCheck) describe(ev *modelEvent) string {
	return fmt.Sprintf("%v [+%v..+%v]", ev.op, ev.start.Sub(m.t0).Round(time.Millisecond), ev.end.Sub(m.t0).Round(time.Millisecond))
}

func (m *modelCheck) answerText(ev *modelEvent) string {
	var s string
	switch {
	case ev.err != nil:
		msg := ev.err.Error()
		if len(msg) > 160 {
			msg = msg[:160] + "..."
		}
		s = fmt.Sprintf("error %v: %s", ev.code, msg)
	case ev.op.kind == opStatus:
		s = fmt.Sprintf("%s %v", modelStatusText(ev), ev.info.GetParticipants())
	case ev.op.kind == opRefuse:
		s = strings.TrimPrefix(ev.local.String(), "LOCAL_STATE_")
	case ev.op.kind == opBegin:
		s = ev.tx
	case ev.op.kind == opDo || ev.op.kind == opEnlist:
		s = "OK"
	default:
		s = strings.TrimPrefix(ev.out.String(), "OUTCOME_")
	}
	if ev.uncertain {
		s += " (after retries)"
	}
	return s
}

// history lists every call by slot, for a failure message.
func (m *modelCheck) history() string {
	var b strings.Builder
	for _, s := range m.plan.slots {
		fmt.Fprintf(&b, "  tx %d (%s):\n", s.k, m.txs[s.k])
		for _, ev := range m.slotEvents(s.k) {
			fmt.Fprintf(&b, "    %s -> %s\n", m.describe(ev), m.answerText(ev))
		}
		for i, rec := range m.fin.recs[m.txs[s.k]] {
			fmt.Fprintf(&b, "    %s: %v %v read-only %v finished=%v\n", m.fin.nodes[i], modelState(rec.GetState()), rec.GetParticipants(), rec.GetReadOnly(), rec.GetFinished())
		}
		for _, p := range modelParts {
			fmt.Fprintf(&b, "    %s: %v\n", p, m.fin.local[p][m.txs[s.k]])
		}
	}
	return b.String()
}

// tally counts the IDs by the log's decision.
func (m *modelCheck) tally() string {
	n := map[string]int{}
	for _, s := range m.plan.slots {
		tx := m.txs[s.k]
		switch {
		case tx == "":
			n["not begun"]++
		case s.kind == slotStale:
			n["stale"]++
		default:
			d := m.decision(s, tx, func(string, ...any) {})
			n[strings.ToLower(modelState(d.state))]++
		}
	}
	return fmt.Sprintf("%d committed, %d aborted, %d never recorded, %d stale, %d not begun",
		n["committed"], n["aborted"], n["no decision"], n["stale"], n["not begun"])
}
