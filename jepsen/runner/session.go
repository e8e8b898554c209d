package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/jepsen/proxy"
)

// Session is a started cluster behind its proxy mesh, with a client, for
// scenario tests that script their faults by hand instead of running the
// seeded schedule (Run). Close stops everything.
type Session struct{ e *env }

// Start validates cfg, lays out and starts the cluster (in cfg's network
// mode) and waits for a leader that knows every bank. No workload runs.
func Start(ctx context.Context, cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e, err := setup(cfg)
	if err != nil {
		return nil, err
	}
	if err := e.start(ctx); err != nil {
		e.teardown()
		return nil, err
	}
	return &Session{e: e}, nil
}

// Close stops every process and proxy and removes the namespaces.
func (s *Session) Close() { s.e.teardown() }

// Cluster is the processes.
func (s *Session) Cluster() *localcluster.Cluster { return s.e.cluster }

// Mesh is the proxies every process dials the others through.
func (s *Session) Mesh() *proxy.Mesh { return s.e.mesh }

// Client talks to the coordinators through the mesh (as the harness,
// which no cut affects).
func (s *Session) Client() *client.Client { return s.e.cli }

// NetMode is NetNamespaces or NetProxy.
func (s *Session) NetMode() string {
	if s.e.net != nil {
		return NetNamespaces
	}
	return NetProxy
}

// Cut cuts a from b both ways, in the mesh and (with namespaces) iptables.
func (s *Session) Cut(a, b string) error { return s.e.cut(a, b) }

// Heal removes every cut, hold, latency and loss.
func (s *Session) Heal() error { return healNet(context.Background(), s.e) }

// Transfer moves amount from account 0 of bank from to account 0 of bank
// to, coordinator-driven, and returns the tx ID and the history outcome
// (commit, abort, unknown or fail) with the error text.
func (s *Session) Transfer(ctx context.Context, from, to string, amount int64) (txID, outcome, why string) {
	deltas := []history.Delta{
		{Participant: from, Account: from + "-0", Delta: -amount},
		{Participant: to, Account: to + "-0", Delta: amount},
	}
	return s.e.runTransfer(ctx, "coordinator-driven", deltas)
}

// Settle waits up to d until nothing is prepared at any bank and nothing
// is open at the leader; the error says what is still in doubt.
func (s *Session) Settle(ctx context.Context, d time.Duration) error {
	s.e.waitSettled(ctx, time.Now().Add(d))
	prepared, open, err := s.e.cluster.InDoubt(ctx)
	if err != nil || prepared != 0 || open != 0 {
		return fmt.Errorf("not settled after %v: %d prepared, %d open at the leader (%v)", d, prepared, open, err)
	}
	return nil
}

// Total is the money held by every bank, committed balances only.
func (s *Session) Total(ctx context.Context) (int64, error) {
	bal, err := s.e.balances(ctx)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, v := range bal {
		sum += v
	}
	return sum, nil
}
