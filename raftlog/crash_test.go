package raftlog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// These tests run real `arbiter serve` processes on loopback with real
// fsync, kill them with SIGKILL while clients commit, and check what
// survived, per transaction, by replaying each stopped node's data dir
// with raftlog.Replay (the FSM code the node runs).

// buildArbiter compiles cmd/arbiter once for the test.
func buildArbiter(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds cmd/arbiter and runs real processes; skipped with -short")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := localcluster.BuildCommands(ctx, dir, []string{"arbiter"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// acked is what clients were told: tx ID → "commit" or "abort", only for
// calls that returned an outcome.
type acked struct {
	mu  sync.Mutex
	out map[string]string
}

func (a *acked) add(id, outcome string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.out[id] = outcome
}

func (a *acked) snapshot() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps(a.out)
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// load runs workers that Begin a transaction and then Commit it (even
// workers) or Abort it (odd ones), until ctx ends; each outcome a call
// returns is recorded in a. Failed calls (a node being killed) are not.
func load(ctx context.Context, t *testing.T, addrs []string, workers int, a *acked) *sync.WaitGroup {
	t.Helper()
	cli, err := client.New(client.Config{Addresses: addrs, Insecure: true, ClientID: "crash-test", AttemptTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				oneTx(ctx, cli, w%2 == 0, a)
			}
		}()
	}
	go func() { wg.Wait(); cli.Close() }()
	return &wg
}

func oneTx(ctx context.Context, cli *client.Client, commit bool, a *acked) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	id, err := cli.Begin(cctx, 10*time.Second)
	if err != nil {
		time.Sleep(20 * time.Millisecond)
		return
	}
	var out client.Outcome
	if commit {
		out, err = cli.Commit(cctx, id)
	} else {
		out, err = cli.Abort(cctx, id)
	}
	switch {
	case err != nil:
	case out == arbiterpb.Outcome_OUTCOME_COMMIT:
		a.add(id, "commit")
	case out == arbiterpb.Outcome_OUTCOME_ABORT:
		a.add(id, "abort")
	}
}

// checkSurvived replays the stopped node's data dir and checks that every
// acknowledged decision is in it with the acknowledged outcome, and that
// the log is whole: command entries at strictly increasing indexes.
func checkSurvived(t *testing.T, node, dataDir string, want map[string]string) *raftlog.Replayed {
	t.Helper()
	r, err := raftlog.Replay(dataDir)
	if err != nil {
		t.Fatalf("%s: replay %s: %v", node, dataDir, err)
	}
	var missing, wrong []string
	for id, out := range want {
		switch got, ok := r.Decisions[id]; {
		case !ok:
			missing = append(missing, id)
		case got != out:
			wrong = append(wrong, id+": acknowledged "+out+", log says "+got)
		}
	}
	if len(missing)+len(wrong) > 0 {
		t.Fatalf("%s lost %d of %d acknowledged decisions (e.g. %v) and has %d with another outcome (%v)",
			node, len(missing), len(want), first(missing), len(wrong), first(wrong))
	}
	for i := 1; i < len(r.Entries); i++ {
		if r.Entries[i].Index <= r.Entries[i-1].Index {
			t.Fatalf("%s: entry %d follows %d", node, r.Entries[i].Index, r.Entries[i-1].Index)
		}
	}
	return r
}

func first(xs []string) []string { return xs[:min(len(xs), 3)] }

// solo is a one-node cluster: an acknowledged decision was fsynced by
// this very node before the client heard of it, so all of them must
// survive its SIGKILL.
type solo struct {
	bin, dataDir, peers, raftAddr, grpcAddr string
}

func newSolo(t *testing.T, bin string) *solo {
	ports, err := localcluster.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	s := &solo{bin: filepath.Join(bin, "arbiter"), dataDir: filepath.Join(t.TempDir(), "n1"),
		raftAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]), grpcAddr: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	s.peers = "n1=" + s.raftAddr + "/" + s.grpcAddr
	return s
}

// proc lays out the node on store; t.Cleanup stops it.
func (s *solo) proc(t *testing.T, store string) *localcluster.Proc {
	p := localcluster.NewProc("n1", s.grpcAddr, s.bin, filepath.Join(filepath.Dir(s.dataDir), "n1-"+store+".log"),
		"serve", "--id", "n1", "--data-dir", s.dataDir, "--peers", s.peers, "--insecure", "--log-store", store, "--log-level", "warn")
	t.Cleanup(func() { _ = p.Stop(3 * time.Second) })
	return p
}

func waitLeader(t *testing.T, p *localcluster.Proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := localcluster.ClusterInfo(t.Context(), p)
		if err == nil && info.GetLeaderId() == p.Name {
			return
		}
		if !p.Running() || time.Now().After(deadline) {
			t.Fatalf("%s does not lead (running %v, last answer %v, %v); log %s:\n%s", p.Name, p.Running(), info, err, p.LogPath, tail(p.LogPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	return string(b[max(0, len(b)-3000):])
}

// SIGKILL of a one-node cluster while clients commit, three times over,
// on each store: after each kill, every decision a client was told is in
// the node's log with the outcome it was told, and the node starts again
// and leads. Then it refuses to start on the other store, naming the flag,
// and changes nothing in the data dir.
func TestSIGKILLMidAppendKeepsAcknowledgedDecisions(t *testing.T) {
	bin := buildArbiter(t)
	for _, store := range raftlog.LogStores() {
		t.Run(store, func(t *testing.T) {
			s := newSolo(t, bin)
			p := s.proc(t, store)
			a := &acked{out: map[string]string{}}
			for round := range 3 {
				if err := p.Start(); err != nil {
					t.Fatal(err)
				}
				waitLeader(t, p)
				before := len(a.snapshot())
				ctx, stop := context.WithCancel(t.Context())
				wg := load(ctx, t, []string{s.grpcAddr}, 4, a)
				time.Sleep(1500 * time.Millisecond)
				if err := p.Kill(); err != nil { // under load: an append or its fsync is in flight
					t.Fatal(err)
				}
				stop()
				wg.Wait()
				got := a.snapshot()
				if len(got) == before {
					t.Fatalf("round %d: no transaction was acknowledged before the kill; log:\n%s", round, tail(p.LogPath))
				}
				r := checkSurvived(t, "n1", s.dataDir, got)
				t.Logf("%s round %d: %d acknowledged decisions all in the log after SIGKILL (%d command entries)", store, round, len(got), len(r.Entries))
			}
			refuseOtherStore(t, s, store)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			waitLeader(t, p)
			checkStatus(t, s.grpcAddr, a.snapshot())
		})
	}
}

// refuseOtherStore starts the stopped node on the other store: it must
// exit, saying which --log-store its data dir needs, and write nothing.
func refuseOtherStore(t *testing.T, s *solo, store string) {
	t.Helper()
	other := raftlog.LogStoreWAL
	if store == raftlog.LogStoreWAL {
		other = raftlog.LogStoreBoltDB
	}
	before := tree(t, s.dataDir)
	p := s.proc(t, other)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.Running() {
		if time.Now().After(deadline) {
			t.Fatalf("a %s data dir started with --log-store %s is still running", store, other)
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := "holds a " + store + " raft log"
	if log := tail(p.LogPath); !strings.Contains(log, want) || !strings.Contains(log, "start with --log-store "+store) {
		t.Fatalf("--log-store %s on a %s data dir: the log does not say %q and name --log-store %s:\n%s", other, store, want, store, log)
	}
	if after := tree(t, s.dataDir); !slices.Equal(before, after) {
		t.Fatalf("the refused start changed the data dir:\nbefore %v\nafter  %v", before, after)
	}
}

func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %d", path, info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkStatus asks the running cluster for every acknowledged
// transaction's outcome.
func checkStatus(t *testing.T, addr string, want map[string]string) {
	t.Helper()
	cli, err := client.New(client.Config{Addresses: []string{addr}, Insecure: true, AttemptTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	names := map[arbiterpb.TxState]string{arbiterpb.TxState_TX_STATE_COMMITTED: "commit", arbiterpb.TxState_TX_STATE_ABORTED: "abort"}
	for id, out := range want {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		info, err := cli.Status(ctx, id)
		cancel()
		if err != nil || names[info.GetState()] != out {
			t.Fatalf("Status(%s) after restart: %v, %v; acknowledged %s", id, info, err, out)
		}
	}
}

// trio starts three coordinators on store (no banks: the load commits and
// aborts transactions without participants).
func trio(t *testing.T, bin, store string) *localcluster.Cluster {
	t.Helper()
	c, err := localcluster.New(localcluster.Options{Dir: t.TempDir(), BinDir: bin, Banks: 1, LogLevel: "info",
		Insecure: true, LogStore: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	for _, p := range c.Coords {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// caughtUp waits until p follows a leader and has applied everything the
// leader had committed when the wait began.
func caughtUp(t *testing.T, c *localcluster.Cluster, p *localcluster.Proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var target uint64
	for {
		_, li, lerr := c.Leader(t.Context())
		info, err := localcluster.ClusterInfo(t.Context(), p)
		if lerr == nil && target == 0 {
			target = li.GetCommitIndex()
		}
		if err == nil && lerr == nil && target > 0 && info.GetLeaderId() != "" && info.GetAppliedIndex() >= target {
			return
		}
		if !p.Running() || time.Now().After(deadline) {
			t.Fatalf("%s did not catch up to index %d (running %v, %v %v); log:\n%s", p.Name, target, p.Running(), info, err, tail(p.LogPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopAndCheck stops every coordinator (SIGTERM) and checks each one's
// log holds every acknowledged decision.
func stopAndCheck(t *testing.T, c *localcluster.Cluster, want map[string]string) {
	t.Helper()
	for _, p := range c.Coords {
		if err := p.Stop(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.Coords {
		r := checkSurvived(t, p.Name, p.DataDir, want)
		t.Logf("%s: all %d acknowledged decisions in its log (%d command entries)", p.Name, len(want), len(r.Entries))
	}
}

// SIGKILL of the leader of a three-node wal cluster while clients commit:
// a new leader takes over, the killed node starts again on its own data
// dir, rejoins and catches up, and every decision a client was told is
// then in all three logs with the outcome it was told.
func TestSIGKILLLeaderRejoinsWithAcknowledgedDecisions(t *testing.T) {
	bin := buildArbiter(t)
	c := trio(t, bin, raftlog.LogStoreWAL)
	a := &acked{out: map[string]string{}}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	wg := load(ctx, t, c.CoordAddrs(), 4, a)
	time.Sleep(1500 * time.Millisecond)
	leader, _, err := c.Leader(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	atKill := len(a.snapshot())
	t.Logf("killed the leader %s with %d decisions acknowledged", leader.Name, atKill)
	time.Sleep(1500 * time.Millisecond) // a new leader, still under load
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, c, leader)
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	got := a.snapshot()
	if atKill == 0 || len(got) == atKill {
		t.Fatalf("%d acknowledged before the kill, %d in all: the load did not run on both sides of it", atKill, len(got))
	}
	stopAndCheck(t, c, got)
	segs, _ := filepath.Glob(filepath.Join(leader.DataDir, "wal", "*.wal"))
	t.Logf("%s holds %d segment files (more than one: Raft truncated its uncommitted tail when it rejoined)", leader.Name, len(segs))
	// A truncated tail used to keep the node from starting (raft-wal#31):
	// every node must start again.
	for _, p := range c.Coords {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.Coords {
		caughtUp(t, c, p)
	}
	checkStatus(t, leader.Addr, got)
}

// tailSegment is the path of the newest raft-wal segment in dataDir and
// the end of what was written to it (segments are preallocated with
// zeros; every frame starts 8-byte aligned, the last is a commit frame
// whose type byte is not zero).
func tailSegment(t *testing.T, dataDir string) (string, int64) {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dataDir, "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segment in %s/wal: %v", dataDir, err)
	}
	slices.Sort(segs) // named by zero-padded base index: the last is the tail
	b, err := os.ReadFile(segs[len(segs)-1])
	if err != nil {
		t.Fatal(err)
	}
	last := len(b) - 1
	for last >= 0 && b[last] == 0 {
		last--
	}
	return segs[len(segs)-1], int64((last + 8) &^ 7)
}

// tearTail damages the end of the last batch the way a crash before its
// fsync returned could: "cut" loses the commit frame and part of the last
// entry (the file ends early), "bitflip" garbles the 8 bytes before an
// intact commit frame (its CRC no longer matches).
func tearTail(t *testing.T, dataDir, how string) {
	t.Helper()
	path, end := tailSegment(t, dataDir)
	switch how {
	case "cut":
		if err := os.Truncate(path, end-13); err != nil {
			t.Fatal(err)
		}
	case "bitflip":
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 8)
		if _, err := f.ReadAt(buf, end-16); err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] ^= 0xff
		}
		if _, err := f.WriteAt(buf, end-16); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("tore %s at byte %d of %s", how, end, filepath.Base(path))
}

// isPrefix: after holds the first entries of before, byte for byte, and
// fewer of them (the torn batch is gone, nothing else).
func isPrefix(t *testing.T, node string, before, after *raftlog.Replayed) {
	t.Helper()
	if len(after.Entries) >= len(before.Entries) {
		t.Fatalf("%s: %d command entries after tearing the tail, %d before: the torn batch was not dropped", node, len(after.Entries), len(before.Entries))
	}
	for i, e := range after.Entries {
		b := before.Entries[i]
		if e.Index != b.Index || e.Term != b.Term || string(e.Data) != string(b.Data) {
			t.Fatalf("%s: entry %d differs after tearing the tail (index %d/%d term %d/%d)", node, i, e.Index, b.Index, e.Term, b.Term)
		}
	}
	t.Logf("%s: torn tail recovered to a prefix: %d of %d command entries (last index %d, was %d)", node, len(after.Entries),
		len(before.Entries), after.Entries[len(after.Entries)-1].Index, before.Entries[len(before.Entries)-1].Index)
}

// A torn tail on a follower of a three-node wal cluster, SIGKILLed under
// load: cut short, then (after it rejoined) with garbled bytes under an
// intact commit frame. Each time its log recovers to a prefix of what it
// held (the torn batch dropped, nothing before it changed), the node
// starts, rejoins and catches up from the leader, and at the end every
// acknowledged decision is in all three logs.
func TestTornWALTailRecoversToPrefixAndRejoins(t *testing.T) {
	bin := buildArbiter(t)
	c := trio(t, bin, raftlog.LogStoreWAL)
	a := &acked{out: map[string]string{}}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	wg := load(ctx, t, c.CoordAddrs(), 4, a)
	for _, how := range []string{"cut", "bitflip"} {
		time.Sleep(1500 * time.Millisecond)
		leader, _, err := c.Leader(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		f := c.Coords[0]
		if f == leader {
			f = c.Coords[1]
		}
		if err := f.Kill(); err != nil {
			t.Fatal(err)
		}
		before := checkSurvived(t, f.Name, f.DataDir, nil)
		tearTail(t, f.DataDir, how)
		isPrefix(t, f.Name, before, checkSurvived(t, f.Name, f.DataDir, nil))
		if err := f.Start(); err != nil {
			t.Fatal(err)
		}
		caughtUp(t, c, f)
	}
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	stopAndCheck(t, c, a.snapshot())
}
