package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// system is one set of processes under test: coordinators and participants.
type system struct {
	name    string
	coords  []*localcluster.Proc
	parts   []*localcluster.Proc
	cluster *localcluster.Cluster // nil for the floor, which has no Raft log
	metrics map[string]string     // process name -> its /metrics address (Arbiter only)
	pprof   map[string]string     // process name -> its /debug/pprof address (Arbiter only)
	// logStore is the coordinators' --log-store ("": the default).
	logStore string
}

// startArbiter starts nCoords real coordinators on logStore ("": the
// default), each with the flags coordExtra as well, and nParts bank
// participants, and waits until a leader knows every participant.
func startArbiter(ctx context.Context, name, binDir, dir string, nCoords, nParts int, logStore string, coordExtra ...string) (*system, error) {
	ports, err := localcluster.FreePorts(2 * (nCoords + nParts))
	if err != nil {
		return nil, err
	}
	metrics, pprof := map[string]string{}, map[string]string{}
	httpAddr := func(proc string) []string {
		i := len(metrics)
		metrics[proc], pprof[proc] = fmt.Sprintf("127.0.0.1:%d", ports[2*i]), fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])
		return []string{"--http-addr", metrics[proc], "--pprof-addr", pprof[proc]}
	}
	c, err := localcluster.New(localcluster.Options{Dir: dir, BinDir: binDir, Banks: nParts, Coordinators: nCoords,
		Accounts: 0, Opening: 0, LogLevel: "warn", LogStore: logStore,
		// Plaintext like the floor, so the ratio compares protocol work,
		// not TLS; the production default (mTLS) costs more CPU per call.
		Insecure:     true,
		CoordArgsFor: func(proc string) []string { return append(httpAddr(proc), coordExtra...) }, BankArgs: httpAddr})
	if err != nil {
		return nil, err
	}
	s := &system{name: name, coords: c.Coords, parts: c.Banks, cluster: c, metrics: metrics, pprof: pprof, logStore: logStore}
	if err := c.Start(); err != nil {
		return nil, err
	}
	err = poll(ctx, time.Minute, func() error {
		_, info, err := c.Leader(ctx)
		if err != nil {
			return err
		}
		for _, id := range s.partIDs() {
			if _, ok := info.GetParticipants()[id]; !ok {
				return fmt.Errorf("participant %s has not registered", id)
			}
		}
		return nil
	})
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w (process logs in %s; rerun with --keep to keep them)", name, err, dir)
	}
	return s, nil
}

// startFloor starts the bench binary's own no-op coordinator and nParts
// no-op participants, and waits until each answers.
func startFloor(ctx context.Context, binDir, dir string, nParts int) (*system, error) {
	ports, err := localcluster.FreePorts(nParts + 1)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(binDir, "bench")
	s := &system{name: "floor"}
	var mapping []string
	for i := range nParts {
		id, addr := fmt.Sprintf("bank%d", i+1), fmt.Sprintf("127.0.0.1:%d", ports[i+1])
		s.parts = append(s.parts, localcluster.NewProc(id, addr, bin, filepath.Join(dir, id+".log"), "floor-participant", "--listen", addr))
		mapping = append(mapping, id+"="+addr)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	s.coords = []*localcluster.Proc{localcluster.NewProc("floor", addr, bin, filepath.Join(dir, "floor.log"),
		"floor-coordinator", "--listen", addr, "--participants", strings.Join(mapping, ","))}
	for _, p := range s.all() {
		if err := p.Start(); err != nil {
			s.stop()
			return nil, err
		}
	}
	if err := poll(ctx, 30*time.Second, s.floorReady); err != nil {
		s.stop()
		return nil, fmt.Errorf("floor: %w (process logs in %s; rerun with --keep to keep them)", err, dir)
	}
	return s, nil
}

// floorReady reports an error until every floor process answers.
func (s *system) floorReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, p := range s.parts {
		if _, err := localcluster.Inspect(ctx, p); err != nil {
			return err
		}
	}
	cli, err := newClient([]string{s.coords[0].Addr})
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.Begin(ctx, 0)
	return err
}

// all lists every process of the system.
func (s *system) all() []*localcluster.Proc { return append(slices.Clone(s.coords), s.parts...) }

// partIDs lists the participants' IDs, as branches name them.
func (s *system) partIDs() []string {
	var ids []string
	for _, p := range s.parts {
		ids = append(ids, p.Name)
	}
	return ids
}

// pids lists every process's ID plus 0, meaning the driver itself.
func (s *system) pids() []int {
	out := []int{0}
	for _, p := range s.all() {
		out = append(out, p.Pid())
	}
	return out
}

// leader returns the coordinator that leads, and its Raft counters (nil
// for the floor).
func (s *system) leader(ctx context.Context) (*localcluster.Proc, *arbiterpb.ClusterResponse, error) {
	if s.cluster == nil {
		return s.coords[0], nil, nil
	}
	return s.cluster.Leader(ctx)
}

// clientAddrs lists the coordinators' addresses with the leader first, so
// that clients do not pay a forwarding hop through a follower.
func (s *system) clientAddrs(ctx context.Context) []string {
	var addrs []string
	if l, _, err := s.leader(ctx); err == nil {
		addrs = append(addrs, l.Addr)
	}
	for _, p := range s.coords {
		if !slices.Contains(addrs, p.Addr) {
			addrs = append(addrs, p.Addr)
		}
	}
	return addrs
}

// stop stops every process (SIGTERM, then SIGKILL).
func (s *system) stop() {
	for _, p := range s.all() {
		_ = p.Stop(3 * time.Second)
	}
}

// poll calls f until it succeeds, ctx ends or timeout passes.
func poll(ctx context.Context, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
		backoff.Sleep(ctx, 100*time.Millisecond)
	}
}
