package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// A nemesis injects one kind of fault and heals it.
type nemesis struct {
	name string
	// net: cuts links (namespaces when available, else the proxy mesh).
	net    bool
	inject func(ctx context.Context, e *env, rng *rand.Rand) ([]string, error)
	heal   func(ctx context.Context, e *env) error
}

// Nemeses lists every nemesis by name, in a fixed order.
func Nemeses() []string {
	var out []string
	for _, n := range allNemeses() {
		out = append(out, n.name)
	}
	return append(out, CrashPoints)
}

// PartitionLeaderParticipants cuts the leader alone from every
// participant (issue 14's partial partition).
const PartitionLeaderParticipants = "partition-leader-participants"

// PartialNemeses are the faults that leave a quorum of coordinators (a
// follower and the leader, or two followers) which reaches every
// participant: a cluster that hands leadership to a node reaching the
// participants stays available through them, so the availability checker
// enforces its bound on runs injecting only these.
func PartialNemeses() []string {
	return []string{"partition-leader-participant", PartitionLeaderParticipants,
		"oneway-leader-participants", "oneway-participants-leader", "oneway-follower-leader"}
}

// CrashPoints is the nemesis that arms the named 2PC crash points in every
// process (binaries built with -tags failpoints) and restarts what dies.
const CrashPoints = "crash-points"

func allNemeses() []nemesis {
	return []nemesis{
		{name: "kill-leader", inject: killRole("leader"), heal: restartDown},
		{name: "kill-follower", inject: killRole("follower"), heal: restartDown},
		{name: "kill-participant", inject: killRole("participant"), heal: restartDown},
		{name: "kill-coordinators", inject: killRole("all-coordinators"), heal: restartDown},
		{name: "kill-leader-participant", inject: killRole("leader+participant"), heal: restartDown},
		{name: "pause-leader", inject: pauseLeader, heal: resumeAll},
		{name: "partition-leader", net: true, inject: isolateLeader, heal: healNet},
		{name: "partition-halves", net: true, inject: splitCoordinators, heal: healNet},
		{name: "partition-ring", net: true, inject: ringCoordinators, heal: healNet},
		{name: "partition-leader-participant", net: true, inject: cutLeaderFromParticipant, heal: healNet},
		{name: "partition-participant", net: true, inject: cutParticipant, heal: healNet},
		{name: PartitionLeaderParticipants, net: true, inject: cutLeaderFromParticipants, heal: healNet},
		{name: "oneway-leader-participants", net: true, inject: leaderToParticipants, heal: healNet},
		{name: "oneway-participants-leader", net: true, inject: participantsToLeader, heal: healNet},
		{name: "oneway-follower-leader", net: true, inject: followerToLeader, heal: healNet},
		{name: "latency", inject: slowLinks, heal: healLinks},
		{name: "loss", inject: lossyLinks, heal: healLinks},
		{name: RestartBroker, inject: stopBroker, heal: startBroker},
	}
}

// RestartBroker is the nemesis that stops the NATS broker of the events
// workload (really: the server shuts down) and starts it again, on the
// same port and store, at the heal.
const RestartBroker = "restart-broker"

func stopBroker(_ context.Context, e *env, _ *rand.Rand) ([]string, error) {
	if e.broker == nil {
		return nil, fmt.Errorf("no broker (the %s workload has one)", WorkloadEvents)
	}
	e.broker.Stop()
	return []string{"nats"}, nil
}

func startBroker(_ context.Context, e *env) error {
	if e.broker == nil {
		return nil
	}
	return e.broker.Restart()
}

func findNemesis(name string) (nemesis, bool) {
	for _, n := range allNemeses() {
		if n.name == name {
			return n, true
		}
	}
	return nemesis{}, false
}

func killRole(role string) func(context.Context, *env, *rand.Rand) ([]string, error) {
	return func(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
		victims, err := e.pick(ctx, role, rng)
		if err != nil {
			return nil, err
		}
		for _, v := range victims {
			e.setDown(v, true)
			if err := e.proc(v).Kill(); err != nil {
				return victims, err
			}
		}
		return victims, nil
	}
}

// pick chooses the targets of a role.
func (e *env) pick(ctx context.Context, role string, rng *rand.Rand) ([]string, error) {
	switch role {
	case "leader+participant": // issue 14: the leader and one bank die together
		l, err := e.pick(ctx, "leader", rng)
		if err != nil {
			return nil, err
		}
		p, _ := e.pick(ctx, "participant", rng)
		return append(l, p...), nil
	case "participant":
		if e.cluster.Outbox != nil { // the events workload: its outbox is the participant under test
			return []string{e.cluster.Outbox.Name}, nil
		}
		return []string{e.cluster.Banks[rng.IntN(len(e.cluster.Banks))].Name}, nil
	case "all-coordinators":
		return []string{"n1", "n2", "n3"}, nil
	}
	leader, _, err := e.cluster.Leader(ctx)
	if err != nil {
		return nil, fmt.Errorf("no leader to target: %w", err)
	}
	if role == "leader" {
		return []string{leader.Name}, nil
	}
	var followers []string
	for _, c := range e.cluster.Coords {
		if c != leader && c.Running() {
			followers = append(followers, c.Name)
		}
	}
	if len(followers) == 0 {
		return nil, fmt.Errorf("no running follower")
	}
	return []string{followers[rng.IntN(len(followers))]}, nil
}

func restartDown(_ context.Context, e *env) error {
	for _, p := range e.cluster.All() {
		if e.isDown(p.Name) {
			if !p.Running() {
				if err := p.Start(); err != nil {
					return err
				}
			}
			e.setDown(p.Name, false)
		}
	}
	return nil
}

// pauseLeader stops the leader with SIGSTOP; the hold is longer than the
// election timeout, so the others elect a new leader meanwhile.
func pauseLeader(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	victims, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	e.setDown(victims[0], true)
	return victims, e.proc(victims[0]).Signal(syscall.SIGSTOP)
}

func resumeAll(_ context.Context, e *env) error {
	for _, p := range e.cluster.All() {
		if e.isDown(p.Name) && p.Running() {
			_ = p.Signal(syscall.SIGCONT)
		}
		e.setDown(p.Name, false)
	}
	return nil
}

// injectWindow is how long a failed injection (no leader to target during
// an election, say) is retried, every injectRetryEvery.
const (
	injectWindow     = 3 * time.Second
	injectRetryEvery = 250 * time.Millisecond
)

// inject runs n's injection, retrying a failure briefly. The detail says
// how many attempts it took; a final failure starts with "inject:", which
// CheckFaults and the timeline read as "this fault did not happen".
func (e *env) inject(ctx context.Context, n nemesis, rng *rand.Rand) ([]string, string) {
	deadline := time.Now().Add(injectWindow)
	for attempt := 1; ; attempt++ {
		targets, err := n.inject(ctx, e, rng)
		switch {
		case err == nil && attempt == 1:
			return targets, ""
		case err == nil:
			return targets, fmt.Sprintf("injected at attempt %d", attempt)
		case time.Now().After(deadline) || !backoff.Sleep(ctx, injectRetryEvery):
			return targets, fmt.Sprintf("inject: %v (gave up after %d attempts)", err, attempt)
		}
	}
}

// effect describes what a network fault did to real traffic while it was
// held: how often a connection waited behind a cut, how many chunks were
// lost. Other faults have nothing to add.
func (e *env) effect(n nemesis, heldBefore, lostBefore int64) string {
	switch {
	case n.net:
		return fmt.Sprintf("cut links held traffic %d times", e.mesh.HeldTotal()-heldBefore)
	case n.name == "loss":
		return fmt.Sprintf("%d chunks lost", e.mesh.Lost()-lostBefore)
	}
	return ""
}

func joinDetail(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// NameFaultsInjected is the name of CheckFaults' result.
const NameFaultsInjected = "faults-injected"

// CheckFaults fails a run in which some nemesis it was given never
// injected successfully (every attempt failed, or it was never scheduled):
// such a run checked nothing about that fault. Crash points are armed for
// the whole run and count as injected.
func CheckFaults(run *history.Run) check.Result {
	r := check.Result{Name: NameFaultsInjected, Pass: true}
	for _, name := range run.Nemeses {
		if name == CrashPoints {
			continue
		}
		r.Checked++
		ok, failed := 0, []string{}
		for _, f := range run.Faults {
			switch {
			case f.Kind != name:
			case strings.HasPrefix(f.Detail, "inject:"):
				failed = append(failed, f.Detail)
			default:
				ok++
			}
		}
		if ok == 0 {
			r.Pass = false
			r.Anomalies++
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s never injected (%d failed attempts: %s)",
				name, len(failed), strings.Join(failed, " | ")))
		}
	}
	return r
}
