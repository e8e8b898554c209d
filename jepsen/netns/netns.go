package netns

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

const (
	chain   = "ARB-CUT"
	maxName = 200
)

var (
	prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`)
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)
)

// Net is a bridge plus one network namespace per node.
type Net struct {
	prefix string
	subnet string // "10.213.k."
	names  []string
	index  map[string]int

	mu     sync.Mutex
	cuts   map[[2]string]bool
	oneway map[[2]string]bool // src, dst: only packets src -> dst dropped (CutOneWay)
	closed bool
}

// Available returns nil when this process can build a Net: it runs as root,
// `ip` and `iptables` are installed and a namespace with iptables rules can
// be created. Otherwise the error says what is missing.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: needs root (euid is not 0)")
	}
	for _, bin := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("netns: %s not installed: %w", bin, err)
		}
	}
	ns := fmt.Sprintf("arbchk%d", os.Getpid())
	_ = run("ip", "netns", "del", ns)
	if err := run("ip", "netns", "add", ns); err != nil {
		return fmt.Errorf("netns: cannot create a namespace: %w", err)
	}
	defer run("ip", "netns", "del", ns)
	if err := run("ip", "netns", "exec", ns, "iptables", "-N", chain); err != nil {
		return fmt.Errorf("netns: iptables unusable in a namespace: %w", err)
	}
	return nil
}

// Create builds the network: names become namespaces <prefix>-<name> with
// addresses .10, .11, ... in name order. prefix is 1-10 lowercase letters or
// digits, starting with a letter; stale objects with the same prefix are
// removed first. On error everything created is removed again.
func Create(prefix string, names []string) (*Net, error) {
	if err := validate(prefix, names); err != nil {
		return nil, err
	}
	n := &Net{prefix: prefix, names: append([]string(nil), names...),
		index: map[string]int{}, cuts: map[[2]string]bool{}, oneway: map[[2]string]bool{}}
	for i, name := range names {
		n.index[name] = i
	}
	cleanStale(prefix)
	subnet, err := pickSubnet(prefix)
	if err != nil {
		return nil, err
	}
	n.subnet = subnet
	if err := n.build(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func validate(prefix string, names []string) error {
	if !prefixRE.MatchString(prefix) {
		return fmt.Errorf("netns: bad prefix %q (want [a-z][a-z0-9]{0,9})", prefix)
	}
	if len(names) == 0 || len(names) > maxName {
		return fmt.Errorf("netns: need 1..%d names, got %d", maxName, len(names))
	}
	seen := map[string]bool{}
	for _, name := range names {
		if !nameRE.MatchString(name) || seen[name] {
			return fmt.Errorf("netns: bad or duplicate name %q", name)
		}
		seen[name] = true
	}
	return nil
}

// pickSubnet hashes the prefix to a third octet and skips octets already in
// use on this host (another run with a different prefix).
func pickSubnet(prefix string) (string, error) {
	h := fnv.New32a()
	h.Write([]byte(prefix))
	out, err := output("ip", "-o", "-4", "addr", "show")
	if err != nil {
		return "", err
	}
	for i := uint32(0); i < 250; i++ {
		k := (h.Sum32()+i)%250 + 1
		s := fmt.Sprintf("10.213.%d.", k)
		if !strings.Contains(out, " "+s) {
			return s, nil
		}
	}
	return "", errors.New("netns: no free 10.213.x.0/24 subnet")
}

func (n *Net) bridge() string            { return n.prefix + "br" }
func (n *Net) ns(name string) string     { return n.prefix + "-" + name }
func (n *Net) hostVeth(i int) string     { return n.prefix + "v" + strconv.Itoa(i) }
func (n *Net) peerVeth(i int) string     { return n.prefix + "p" + strconv.Itoa(i) }
func (n *Net) controlIP() string         { return n.subnet + "1" }
func (n *Net) ipOf(i int) string         { return n.subnet + strconv.Itoa(10+i) }
func (n *Net) inNS(name string) []string { return []string{"ip", "netns", "exec", n.ns(name)} }

func (n *Net) build() error {
	br := n.bridge()
	err := runAll(
		[]string{"ip", "link", "add", br, "type", "bridge"},
		[]string{"ip", "addr", "add", n.controlIP() + "/24", "dev", br},
		[]string{"ip", "link", "set", br, "up"},
	)
	if err != nil {
		return err
	}
	// With br_netfilter, bridged frames traverse the root FORWARD chain,
	// whose policy may be DROP (Docker hosts): let our bridge through.
	if err := run("iptables", "-I", "FORWARD", "-i", br, "-o", br, "-j", "ACCEPT"); err != nil {
		return err
	}
	for i, name := range n.names {
		if err := n.addNode(i, name); err != nil {
			return err
		}
	}
	return nil
}

func (n *Net) addNode(i int, name string) error {
	ns, host, peer := n.ns(name), n.hostVeth(i), n.peerVeth(i)
	in := n.inNS(name)
	return runAll(
		[]string{"ip", "netns", "add", ns},
		[]string{"ip", "link", "add", host, "type", "veth", "peer", "name", peer},
		[]string{"ip", "link", "set", host, "master", n.bridge()},
		[]string{"ip", "link", "set", host, "up"},
		[]string{"ip", "link", "set", peer, "netns", ns},
		append(in, "ip", "link", "set", peer, "name", "eth0"),
		append(in, "ip", "addr", "add", n.ipOf(i)+"/24", "dev", "eth0"),
		append(in, "ip", "link", "set", "lo", "up"),
		append(in, "ip", "link", "set", "eth0", "up"),
		append(in, "ip", "route", "add", "default", "via", n.controlIP()),
		append(in, "iptables", "-N", chain),
		append(in, "iptables", "-I", "INPUT", "-j", chain),
		append(in, "iptables", "-I", "OUTPUT", "-j", chain),
	)
}

// IP returns name's address, or "" for an unknown name.
func (n *Net) IP(name string) string {
	i, ok := n.index[name]
	if !ok {
		return ""
	}
	return n.ipOf(i)
}

// ControlIP returns the bridge address in the root namespace, through which
// the harness reaches every node and which is never cut.
func (n *Net) ControlIP() string { return n.controlIP() }

// Names returns the node names in address order.
func (n *Net) Names() []string { return append([]string(nil), n.names...) }

// Command returns a command that runs bin inside name's namespace (via
// `ip netns exec`, which execs bin, so the process id is bin's).
func (n *Net) Command(name string, bin string, args ...string) *exec.Cmd {
	argv := append(n.inNS(name)[1:], bin)
	return exec.Command("ip", append(argv, args...)...)
}

// Close heals, kills any process still running in a namespace, and deletes
// the namespaces, veths and the bridge. It is idempotent.
func (n *Net) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	n.cuts, n.oneway = map[[2]string]bool{}, map[[2]string]bool{}
	return cleanStale(n.prefix)
}

// cleanStale removes every object named after prefix: processes in its
// namespaces, the namespaces, its links and its root FORWARD rule.
func cleanStale(prefix string) error {
	var errs []error
	nsList, _ := output("ip", "netns", "list")
	for _, line := range strings.Split(nsList, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], prefix+"-") {
			continue
		}
		killPids(f[0])
		errs = append(errs, run("ip", "netns", "del", f[0]))
	}
	links, _ := output("ip", "-o", "link", "show")
	linkRE := regexp.MustCompile(`^` + prefix + `(br|v[0-9]+|p[0-9]+)$`)
	for _, line := range strings.Split(links, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if linkRE.MatchString(name) {
			errs = append(errs, delLink(name))
		}
	}
	fwd, _ := output("iptables", "-S", "FORWARD")
	for _, line := range strings.Split(fwd, "\n") {
		if strings.HasPrefix(line, "-A FORWARD -i "+prefix+"br ") {
			args := strings.Fields("-D" + strings.TrimPrefix(line, "-A"))
			errs = append(errs, run("iptables", args...))
		}
	}
	return errors.Join(errs...)
}

func killPids(ns string) {
	out, _ := output("ip", "netns", "pids", ns)
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// delLink deletes a link; one already gone (its namespace was just
// destroyed, which the kernel does asynchronously) is not an error.
func delLink(name string) error {
	err := run("ip", "link", "del", name)
	if err != nil && strings.Contains(err.Error(), "Cannot find device") {
		return nil
	}
	return err
}
