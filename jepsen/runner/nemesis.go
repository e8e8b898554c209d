package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"
)

// A nemesis injects one kind of fault and heals it.
type nemesis struct {
	name string
	// net: needs network namespaces (real partitions).
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

// CrashPoints is the nemesis that arms the named 2PC crash points in every
// process (binaries built with -tags failpoints) and restarts what dies.
const CrashPoints = "crash-points"

func allNemeses() []nemesis {
	return []nemesis{
		{name: "kill-leader", inject: killRole("leader"), heal: restartDown},
		{name: "kill-follower", inject: killRole("follower"), heal: restartDown},
		{name: "kill-participant", inject: killRole("participant"), heal: restartDown},
		{name: "kill-coordinators", inject: killRole("all-coordinators"), heal: restartDown},
		{name: "pause-leader", inject: pauseLeader, heal: resumeAll},
		{name: "partition-leader", net: true, inject: isolateLeader, heal: healNet},
		{name: "partition-halves", net: true, inject: splitCoordinators, heal: healNet},
		{name: "partition-ring", net: true, inject: ringCoordinators, heal: healNet},
		{name: "partition-leader-participant", net: true, inject: cutLeaderFromParticipant, heal: healNet},
		{name: "partition-participant", net: true, inject: cutParticipant, heal: healNet},
		{name: "latency", inject: slowLinks, heal: healLinks},
		{name: "loss", inject: lossyLinks, heal: healLinks},
	}
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
	case "participant":
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

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
