package client_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// procCluster builds the binaries and starts three coordinators and two
// banks as real processes on loopback, stopped when the test ends.
func procCluster(t *testing.T) *localcluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := localcluster.Build(ctx, filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	c, err := localcluster.New(localcluster.Options{Dir: dir, BinDir: filepath.Join(dir, "bin"), Banks: 2,
		Accounts: 4, Opening: 1000, LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// sdk is a client SDK holding a certificate for role/id, trying addrs in
// that order.
func sdk(t *testing.T, c *localcluster.Cluster, role security.Role, id string, addrs []string) *client.Client {
	t.Helper()
	src, err := c.Source(role, id)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := client.New(client.Config{Addresses: addrs, ClientID: id, DialOptions: client.TLSDialOptions(src)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cli.Close)
	return cli
}

func procByAddr(c *localcluster.Cluster, addr string) *localcluster.Proc {
	for _, p := range c.Coords {
		if p.Addr == addr {
			return p
		}
	}
	return nil
}

// One Watch, through the SDK, survives the kill of the leader it streams
// from and then of a follower it streams from: the decisions it returns
// have strictly increasing (index, position) and gapless seqs, none twice,
// and are exactly the decisions the cluster made (every outcome the load
// was told, and the same set a fresh watch on every node returns).
func TestWatchSurvivesLeaderAndFollowerKill(t *testing.T) {
	c := procCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string // the watcher starts on a follower
	for _, p := range c.Coords {
		if p != leader {
			addrs = append(addrs, p.Addr)
		}
	}
	addrs = append(addrs, leader.Addr)
	w := sdk(t, c, security.RoleAdmin, "watcher", addrs).Watch(ctx, client.Cursor{}, nil)
	defer w.Close()
	var mu sync.Mutex
	var got []*arbiterpb.DecisionEvent
	watchDone := make(chan error, 1)
	go func() {
		for {
			e, err := w.Next()
			if err != nil {
				watchDone <- err
				return
			}
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	load := sdk(t, c, security.RoleClient, "loader", c.DialCoordAddrs())
	told := map[string]arbiterpb.Outcome{}
	var tmu sync.Mutex
	lctx, stopLoad := context.WithCancel(ctx)
	var lwg sync.WaitGroup
	for g := range 2 {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			for i := 0; lctx.Err() == nil; i++ {
				amt := int64(1 + i%5)
				from, to := c.Banks[g%2].Name, c.Banks[(g+1)%2].Name
				br := []*arbiterpb.Branch{
					{ParticipantId: from, Payload: bank.EncodePayload([]*bankpb.Op{{Account: from + "-0", Delta: -amt}}, nil)},
					{ParticipantId: to, Payload: bank.EncodePayload([]*bankpb.Op{{Account: to + "-1", Delta: amt}}, nil)},
				}
				tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
				id, err := load.Begin(tctx, 5*time.Second)
				if err == nil {
					var out arbiterpb.Outcome
					if i%7 == 3 {
						out, err = load.Abort(tctx, id)
					} else {
						out, err = load.Commit(tctx, id, br...)
					}
					if err == nil {
						tmu.Lock()
						told[id] = out
						tmu.Unlock()
					}
				}
				tcancel()
			}
		}()
	}
	waitCount := func(n int, what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the watcher has %d decisions, want %d", what, count(), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitCount(20, "before the kills")
	// Kill the node the watcher streams from (a follower first: it was
	// given first), restart it, and again, until both a follower and a
	// leader it streamed from were killed under it.
	killed := map[string]int{}
	for i := 0; i < 8 && (killed["follower"] == 0 || killed["leader"] == 0); i++ {
		nl, err := c.WaitLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		on := procByAddr(c, w.Node())
		if on == nil || !on.Running() {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		kind := "follower"
		if on == nl {
			kind = "leader"
		}
		t.Logf("killing %s %s (the watcher's node) after %d decisions", kind, on.Name, count())
		if err := on.Kill(); err != nil {
			t.Fatal(err)
		}
		killed[kind]++
		waitCount(count()+20, "after killing "+on.Name)
		if err := on.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	if killed["follower"] == 0 || killed["leader"] == 0 {
		t.Fatalf("kills under the watcher: %v; want a leader and a follower", killed)
	}
	stopLoad()
	lwg.Wait()

	// Settle: every begun transaction decided; then the watcher must catch
	// up with a fresh watch of every node.
	final := settledDecisions(t, ctx, c)
	waitCount(len(final), "catching up with the cluster")
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(final) {
		t.Fatalf("watcher returned %d decisions, the cluster holds %d", len(got), len(final))
	}
	seen := map[string]bool{}
	for i, e := range got {
		if seen[e.TxId] {
			t.Fatalf("decision of %s returned twice", e.TxId)
		}
		seen[e.TxId] = true
		if i > 0 {
			p := got[i-1]
			if e.Seq != p.Seq+1 || e.Index < p.Index || (e.Index == p.Index && e.Position <= p.Position) {
				t.Fatalf("decision %d (index %d pos %d seq %d) does not follow (index %d pos %d seq %d)",
					i, e.Index, e.Position, e.Seq, p.Index, p.Position, p.Seq)
			}
		}
		if f := final[i]; f.TxId != e.TxId || f.Outcome != e.Outcome || f.Index != e.Index || f.DecidedUnixNanos != e.DecidedUnixNanos {
			t.Fatalf("decision %d: watcher %v, cluster %v", i, e, f)
		}
	}
	tmu.Lock()
	defer tmu.Unlock()
	byID := map[string]arbiterpb.Outcome{}
	commits := 0
	for _, e := range got {
		byID[e.TxId] = e.Outcome
		if e.Outcome == arbiterpb.Outcome_OUTCOME_COMMIT {
			commits++
		}
	}
	for id, out := range told {
		if byID[id] != out {
			t.Fatalf("the load was told %v for %s, the watcher saw %v", out, id, byID[id])
		}
	}
	t.Logf("watch across the kills %v: %d decisions (%d commits), seq %d..%d gapless, index %d..%d increasing; %d outcomes told to the load all present",
		killed, len(got), commits, got[0].Seq, got[len(got)-1].Seq, got[0].Index, got[len(got)-1].Index, len(told))
	select {
	case err := <-watchDone:
		t.Fatalf("the watch ended: %v", err)
	default:
	}
}

// settledDecisions waits until no transaction is in doubt, then returns
// the decisions a fresh watch on each node returns, checking that every
// node returns the same ones.
func settledDecisions(t *testing.T, ctx context.Context, c *localcluster.Cluster) []*arbiterpb.DecisionEvent {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, open, err := c.InDoubt(ctx)
		if err == nil && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("transactions still open after 60 s: %d (%v)", open, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var first []*arbiterpb.DecisionEvent
	for _, p := range c.Coords {
		cli := sdk(t, c, security.RoleAdmin, "checker", []string{p.Addr})
		var evs []*arbiterpb.DecisionEvent
		for {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			evs = drain(wctx, cli)
			cancel()
			if first == nil || len(evs) >= len(first) {
				break
			}
		}
		if first == nil {
			first = evs
			continue
		}
		if len(evs) != len(first) {
			t.Fatalf("%s holds %d decisions, the first node %d", p.Name, len(evs), len(first))
		}
		for i := range evs {
			if evs[i].TxId != first[i].TxId || evs[i].Seq != first[i].Seq || evs[i].DecidedUnixNanos != first[i].DecidedUnixNanos {
				t.Fatalf("%s: decision %d %v, first node %v", p.Name, i, evs[i], first[i])
			}
		}
	}
	return first
}

// drain reads a watch from the start until ctx ends.
func drain(ctx context.Context, cli *client.Client) []*arbiterpb.DecisionEvent {
	w := cli.Watch(ctx, client.Cursor{}, nil)
	defer w.Close()
	var evs []*arbiterpb.DecisionEvent
	for {
		e, err := w.Next()
		if err != nil {
			return evs
		}
		evs = append(evs, e)
	}
}
