package proxy

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"
)

// Mesh is a set of proxies, one in front of every service of every node,
// whose sources are told apart by a classifier: every directed link
// src -> dst (src's connections to any of dst's services) has its own
// Faults. It offers the partition API of package netns (Cut, Partition,
// Isolate, Heal, Rules) without root, plus latency and loss per link.
type Mesh struct {
	host     string
	classify func(net.Addr) string

	mu      sync.Mutex
	proxies map[string][]*Proxy // node -> the proxies in front of its services
	cuts    map[[2]string]bool
	closed  bool
}

// ErrMeshClosed: the mesh was closed.
var ErrMeshClosed = errors.New("proxy: mesh closed")

// NewMesh makes an empty mesh whose proxies listen on host; classify names
// the node a connection comes from ("" for a source that is never cut, such
// as the test harness).
func NewMesh(host string, classify func(remote net.Addr) string) *Mesh {
	return &Mesh{host: host, classify: classify, proxies: map[string][]*Proxy{}, cuts: map[[2]string]bool{}}
}

// Expose puts a proxy in front of one of node's services at target and
// returns the address the other nodes must dial instead.
func (m *Mesh) Expose(node, target string) (string, error) {
	p, err := New(net.JoinHostPort(m.host, "0"), target)
	if err != nil {
		return "", fmt.Errorf("proxy in front of %s (%s): %w", node, target, err)
	}
	p.SetClassifier(m.classify)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		p.Close()
		return "", ErrMeshClosed
	}
	m.proxies[node] = append(m.proxies[node], p)
	return p.Addr(), nil
}

// Link calls fn with the Faults of every proxy of dst for traffic from src.
func (m *Mesh) Link(src, dst string, fn func(*Faults)) {
	m.mu.Lock()
	ps := append([]*Proxy(nil), m.proxies[dst]...)
	m.mu.Unlock()
	for _, p := range ps {
		fn(p.From(src))
	}
}

// Cut holds all traffic between a and b in both directions, like a DROP
// rule: bytes in flight and new connections wait, nothing is closed.
func (m *Mesh) Cut(a, b string) error {
	if a == b {
		return fmt.Errorf("proxy: cannot cut %q from itself", a)
	}
	if err := m.known(a, b); err != nil {
		return err
	}
	m.mu.Lock()
	m.cuts[pair(a, b)] = true
	m.mu.Unlock()
	block := func(f *Faults) { f.Block(true) }
	m.Link(a, b, block)
	m.Link(b, a, block)
	return nil
}

// Hold holds only the traffic src -> dst (one direction), until Heal or
// Release: a message sent meanwhile arrives once released.
func (m *Mesh) Hold(src, dst string) error {
	if err := m.known(src, dst); err != nil {
		return err
	}
	m.Link(src, dst, func(f *Faults) { f.Block(true) })
	return nil
}

// Release lets traffic src -> dst flow again (the opposite of Hold; it does
// not touch cuts recorded by Cut in the other direction).
func (m *Mesh) Release(src, dst string) {
	m.Link(src, dst, func(f *Faults) { f.Block(false) })
}

// Partition cuts every pair of nodes in different groups.
func (m *Mesh) Partition(groups ...[]string) error {
	var errs []error
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					errs = append(errs, m.Cut(a, b))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Isolate cuts name from every other node of the mesh.
func (m *Mesh) Isolate(name string) error {
	if err := m.known(name); err != nil {
		return err
	}
	var errs []error
	for _, other := range m.Nodes() {
		if other != name {
			errs = append(errs, m.Cut(name, other))
		}
	}
	return errors.Join(errs...)
}

// SetLatency sets d±jitter on every link between the given nodes (both
// directions of every pair).
func (m *Mesh) SetLatency(nodes []string, d, jitter time.Duration) {
	m.eachPair(nodes, func(f *Faults) { f.SetLatency(d, jitter) })
}

// SetLoss sets the loss probability on every link between the given nodes.
func (m *Mesh) SetLoss(nodes []string, prob float64) {
	m.eachPair(nodes, func(f *Faults) { f.SetLoss(prob) })
}

func (m *Mesh) eachPair(nodes []string, fn func(*Faults)) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				m.Link(a, b, fn)
			}
		}
	}
}

// Heal unblocks every link and removes latency and loss everywhere.
func (m *Mesh) Heal() error {
	m.mu.Lock()
	m.cuts = map[[2]string]bool{}
	var ps []*Proxy
	for _, l := range m.proxies {
		ps = append(ps, l...)
	}
	m.mu.Unlock()
	for _, p := range ps {
		for _, f := range p.allFaults() {
			f.Block(false)
			f.SetLatency(0, 0)
			f.SetLoss(0)
		}
	}
	return nil
}

// Held sums Faults.Held over the links src -> dst: how often traffic on
// that link waited behind a block.
func (m *Mesh) Held(src, dst string) int64 {
	var n int64
	m.Link(src, dst, func(f *Faults) { n += f.Held() })
	return n
}

// HeldTotal sums Faults.Held over every link of the mesh.
func (m *Mesh) HeldTotal() int64 {
	var n int64
	for _, a := range m.Nodes() {
		for _, b := range m.Nodes() {
			if a != b {
				n += m.Held(a, b)
			}
		}
	}
	return n
}

// Lost sums Faults.Lost over every link of the mesh.
func (m *Mesh) Lost() int64 {
	var n int64
	for _, a := range m.Nodes() {
		for _, b := range m.Nodes() {
			if a != b {
				m.Link(a, b, func(f *Faults) { n += f.Lost() })
			}
		}
	}
	return n
}

// Rules describes the current cuts, one sorted "a -x- b" line per pair.
func (m *Mesh) Rules() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.cuts))
	for k := range m.cuts {
		out = append(out, k[0]+" -x- "+k[1])
	}
	sort.Strings(out)
	return out
}

// Nodes lists the nodes with at least one exposed service, sorted.
func (m *Mesh) Nodes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.proxies))
	for n := range m.proxies {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Close closes every proxy. It is idempotent.
func (m *Mesh) Close() error {
	m.mu.Lock()
	m.closed = true
	all := m.proxies
	m.proxies = map[string][]*Proxy{}
	m.mu.Unlock()
	var errs []error
	for _, ps := range all {
		for _, p := range ps {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}

func (m *Mesh) known(names ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range names {
		if _, ok := m.proxies[n]; !ok {
			return fmt.Errorf("proxy: unknown node %q", n)
		}
	}
	return nil
}

func pair(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}
