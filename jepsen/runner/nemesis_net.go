package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Every process reaches every other one through the proxy mesh, so a cut
// is made there in both network modes (a held link, like a DROP rule); in
// network namespaces the same cut is also made with iptables, for any
// traffic that does not go through a proxy.

// cut cuts a from b in both directions.
func (e *env) cut(a, b string) error {
	err := e.mesh.Cut(a, b)
	if e.net != nil {
		err = errors.Join(err, e.net.Cut(a, b))
	}
	return err
}

// isolate cuts name from every other node; the harness keeps its links.
func (e *env) isolate(name string) error {
	err := e.mesh.Isolate(name)
	if e.net != nil {
		err = errors.Join(err, e.net.Isolate(name))
	}
	return err
}

// oneWay drops traffic src -> dst only: the mesh holds the connections
// src opens to dst (not those dst opens to src); in network namespaces
// iptables also drops the packets src -> dst.
func (e *env) oneWay(src, dst string) error {
	err := e.mesh.Hold(src, dst)
	if e.net != nil {
		err = errors.Join(err, e.net.CutOneWay(src, dst))
	}
	return err
}

func (e *env) partition(groups ...[]string) error {
	err := e.mesh.Partition(groups...)
	if e.net != nil {
		err = errors.Join(err, e.net.Partition(groups...))
	}
	return err
}

func isolateLeader(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	v, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	return v, e.isolate(v[0])
}

// splitCoordinators puts one coordinator alone and two together; the
// participants keep all their links.
func splitCoordinators(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	ids := []string{"n1", "n2", "n3"}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return []string{ids[0] + " | " + ids[1] + "," + ids[2]}, e.partition(ids[:1], ids[1:])
}

// ringCoordinators cuts one pair only: every node still sees a majority
// (itself and one neighbour), but the two ends cannot talk.
func ringCoordinators(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	ids := []string{"n1", "n2", "n3"}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return []string{ids[0] + " x " + ids[1]}, e.cut(ids[0], ids[1])
}

func cutLeaderFromParticipant(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	v, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	p, _ := e.pick(ctx, "participant", rng)
	return []string{v[0] + " x " + p[0]}, e.cut(v[0], p[0])
}

// bankNames lists every participant.
func (e *env) bankNames() []string {
	var out []string
	for _, b := range e.cluster.Banks {
		out = append(out, b.Name)
	}
	return out
}

// cutLeaderFromParticipants cuts the leader from every participant, both
// ways; it keeps its followers and the clients, and the followers keep
// every participant (issue 14's partial partition: a follower one
// leadership transfer away can serve everything).
func cutLeaderFromParticipants(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	v, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, b := range e.bankNames() {
		errs = append(errs, e.cut(v[0], b))
	}
	return []string{v[0] + " x every participant"}, errors.Join(errs...)
}

// leaderToParticipants drops what the leader sends to every participant
// (Prepare, phase 2, health checks), not what they send it (Register,
// Enlist, Resolve); participantsToLeader the reverse.
func leaderToParticipants(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	return leaderOneWay(ctx, e, rng, true)
}

func participantsToLeader(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	return leaderOneWay(ctx, e, rng, false)
}

func leaderOneWay(ctx context.Context, e *env, rng *rand.Rand, fromLeader bool) ([]string, error) {
	v, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, b := range e.bankNames() {
		src, dst := b, v[0]
		if fromLeader {
			src, dst = v[0], b
		}
		errs = append(errs, e.oneWay(src, dst))
	}
	if fromLeader {
		return []string{v[0] + " -> every participant dropped"}, errors.Join(errs...)
	}
	return []string{"every participant -> " + v[0] + " dropped"}, errors.Join(errs...)
}

// followerToLeader drops what one follower sends the leader (its
// forwarded calls; Raft's traffic the leader opens keeps flowing).
func followerToLeader(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	l, err := e.pick(ctx, "leader", rng)
	if err != nil {
		return nil, err
	}
	f, err := e.pick(ctx, "follower", rng)
	if err != nil {
		return nil, err
	}
	return []string{f[0] + " -> " + l[0] + " dropped"}, e.oneWay(f[0], l[0])
}

// cutParticipant cuts one participant from every coordinator.
func cutParticipant(ctx context.Context, e *env, rng *rand.Rand) ([]string, error) {
	p, _ := e.pick(ctx, "participant", rng)
	for _, c := range []string{"n1", "n2", "n3"} {
		if err := e.cut(p[0], c); err != nil {
			return p, err
		}
	}
	return p, nil
}

// healNet removes every cut, hold, latency and loss.
func healNet(_ context.Context, e *env) error {
	err := e.mesh.Heal()
	if e.net != nil {
		err = errors.Join(err, e.net.Heal())
	}
	return err
}

// nodes lists every coordinator and participant.
func (e *env) nodes() []string {
	var out []string
	for _, p := range e.cluster.All() {
		out = append(out, p.Name)
	}
	return out
}

// slowLinks adds latency on every link between two nodes: Raft and
// forwarding between coordinators, phase 1 and 2 to the participants and
// their enlist and Resolve calls back. The harness's own links stay fast.
func slowLinks(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	d := time.Duration(20+rng.IntN(80)) * time.Millisecond
	e.mesh.SetLatency(e.nodes(), d, d/2)
	return []string{fmt.Sprintf("%v±%v on every node-to-node link", d, d/2)}, nil
}

// lossyLinks loses chunks on every link between two nodes. A lost chunk
// is discarded and its TCP connection reset (a byte stream cannot skip
// bytes), so the processes see what loss does to them at the application
// level: every RPC in flight on that connection fails (UNAVAILABLE) and is
// retried or given up, Raft reconnects and resends.
func lossyLinks(_ context.Context, e *env, rng *rand.Rand) ([]string, error) {
	prob := 0.01 + rng.Float64()*0.03
	e.mesh.SetLoss(e.nodes(), prob)
	return []string{fmt.Sprintf("loss %.1f%% of chunks (each resets its connection) on every node-to-node link", prob*100)}, nil
}

func healLinks(_ context.Context, e *env) error { return e.mesh.Heal() }
