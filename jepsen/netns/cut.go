package netns

import (
	"errors"
	"fmt"
	"sort"
)

// Cut drops all traffic between a and b in both directions: inside each of
// the two namespaces, packets from and to the other's address are dropped.
// Cutting an already cut pair does nothing.
func (n *Net) Cut(a, b string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cutLocked(a, b)
}

func (n *Net) cutLocked(a, b string) error {
	if n.closed {
		return errors.New("netns: closed")
	}
	if _, ok := n.index[a]; !ok {
		return fmt.Errorf("netns: unknown node %q", a)
	}
	if _, ok := n.index[b]; !ok {
		return fmt.Errorf("netns: unknown node %q", b)
	}
	if a == b {
		return fmt.Errorf("netns: cannot cut %q from itself", a)
	}
	key := pair(a, b)
	if n.cuts[key] {
		return nil
	}
	// Record first so that Heal flushes a half-applied cut too.
	n.cuts[key] = true
	return errors.Join(n.drop(a, n.IP(b)), n.drop(b, n.IP(a)))
}

// drop adds the two DROP rules for peer inside name's namespace.
func (n *Net) drop(name, peer string) error {
	in := n.inNS(name)
	return runAll(
		append(in, "iptables", "-A", chain, "-s", peer, "-j", "DROP"),
		append(in, "iptables", "-A", chain, "-d", peer, "-j", "DROP"),
	)
}

// CutOneWay drops the packets from src to dst only: inside src's namespace
// those to dst's address, inside dst's those from src's. The reverse
// direction's packets flow. (A TCP connection needs both directions, so
// direct TCP between the two fails either way; the proxy mesh holds the
// connections src opens to dst and not those dst opens to src, which is
// the one-way cut a service sees.)
func (n *Net) CutOneWay(src, dst string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("netns: closed")
	}
	for _, name := range []string{src, dst} {
		if _, ok := n.index[name]; !ok {
			return fmt.Errorf("netns: unknown node %q", name)
		}
	}
	if src == dst {
		return fmt.Errorf("netns: cannot cut %q from itself", src)
	}
	if n.oneway[[2]string{src, dst}] {
		return nil
	}
	n.oneway[[2]string{src, dst}] = true
	return runAll(
		append(n.inNS(src), "iptables", "-A", chain, "-d", n.IP(dst), "-j", "DROP"),
		append(n.inNS(dst), "iptables", "-A", chain, "-s", n.IP(src), "-j", "DROP"),
	)
}

// Partition cuts every pair of nodes that are in different groups. Nodes in
// no group keep all their links. Existing cuts stay.
func (n *Net) Partition(groups ...[]string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					errs = append(errs, n.cutLocked(a, b))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Isolate cuts name from every other node. The control node stays
// reachable so the harness can still observe it.
func (n *Net) Isolate(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.index[name]; !ok {
		return fmt.Errorf("netns: unknown node %q", name)
	}
	var errs []error
	for _, other := range n.names {
		if other != name {
			errs = append(errs, n.cutLocked(name, other))
		}
	}
	return errors.Join(errs...)
}

// Heal removes every cut by flushing the ARB-CUT chain in every namespace.
func (n *Net) Heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	var errs []error
	for _, name := range n.names {
		errs = append(errs, run("ip", append(n.inNS(name)[1:], "iptables", "-F", chain)...))
	}
	n.cuts, n.oneway = map[[2]string]bool{}, map[[2]string]bool{}
	return errors.Join(errs...)
}

// Rules describes the current cuts, one "a -x- b" line per cut pair (a < b)
// and one "src -> dst dropped" line per one-way cut, sorted, for the
// nemesis timeline.
func (n *Net) Rules() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.cuts)+len(n.oneway))
	for k := range n.cuts {
		out = append(out, fmt.Sprintf("%s -x- %s", k[0], k[1]))
	}
	for k := range n.oneway {
		out = append(out, fmt.Sprintf("%s -> %s dropped", k[0], k[1]))
	}
	sort.Strings(out)
	return out
}

func pair(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}
