package main

import (
	"context"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
)

// monitor polls the coordinators and counts leader changes.
type monitor struct {
	c      *localcluster.Cluster
	mu     sync.Mutex
	cur    string
	n      int
	cancel context.CancelFunc
	done   chan struct{}
}

func newMonitor(c *localcluster.Cluster) *monitor {
	return &monitor{c: c, done: make(chan struct{})}
}

func (m *monitor) run(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	defer close(m.done)
	for backoff.Sleep(ctx, 200*time.Millisecond) {
		p, _, err := m.c.Leader(ctx)
		if err != nil {
			continue
		}
		m.mu.Lock()
		if m.cur != "" && m.cur != p.Name {
			m.n++
		}
		m.cur = p.Name
		m.mu.Unlock()
	}
}

func (m *monitor) stop() {
	if m.cancel != nil {
		m.cancel()
		<-m.done
	}
}

func (m *monitor) leader() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

func (m *monitor) changes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}
