package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

func isolateLeader(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	v, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	return v, e.net.Isolate(v[0])
}

// splitCoordinators puts one coordinator alone and two together; the
// participants keep all their links.
func splitCoordinators(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	ids := []string{"n1", "n2", "n3"}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return []string{ids[0] + " | " + ids[1] + "," + ids[2]}, e.net.Partition(ids[:1], ids[1:])
}

// ringCoordinators cuts one pair only: every node still sees a majority
// (itself and one neighbour), but the two ends cannot talk.
func ringCoordinators(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	ids := []string{"n1", "n2", "n3"}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return []string{ids[0] + " x " + ids[1]}, e.net.Cut(ids[0], ids[1])
}

func cutLeaderFromParticipant(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	v, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	p, _ := e.pick(ctx, "participant", rng)
	return []string{v[0] + " x " + p[0]}, e.net.Cut(v[0], p[0])
}

// cutParticipant cuts one participant from every coordinator.
func cutParticipant(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	p, _ := e.pick(ctx, "participant", rng)
	for _, c := range []string{"n1", "n2", "n3"} {
		if err := e.net.Cut(p[0], c); err != nil {
			return p, err
		}
	}
	return p, nil
}

func healNet(_ context.Context, e *env) error {
	if e.net == nil {
		return fmt.Errorf("no network namespaces")
	}
	return e.net.Heal()
}

// slowLinks adds latency on every coordinator-to-participant link.
func slowLinks(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	d := time.Duration(20+rng.IntN(80)) * time.Millisecond
	var names []string
	for name, p := range e.proxies {
		p.SetLatency(d, d/2)
		names = append(names, name)
	}
	return []string{fmt.Sprintf("%v±%v to %v", d, d/2, names)}, nil
}

func lossyLinks(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	prob := 0.05 + rng.Float64()*0.15
	for _, p := range e.proxies {
		p.SetLoss(prob)
	}
	return []string{fmt.Sprintf("loss %.0f%% on participant links", prob*100)}, nil
}

func healLinks(_ context.Context, e *env) error {
	for _, p := range e.proxies {
		p.SetLatency(0, 0)
		p.SetLoss(0)
	}
	return nil
}
