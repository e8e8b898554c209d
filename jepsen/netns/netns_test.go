package netns

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var nodes = []string{"n0", "n1", "n2"}

// runPrefix is unique per test process so parallel runs do not collide.
func runPrefix(tag string) string {
	return "aj" + tag + strconv.FormatInt(int64(os.Getpid()), 36)
}

// newNet creates a Net or skips (fails when ARBITER_REQUIRE_NETNS=1).
func newNet(t *testing.T, tag string) *Net {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("ARBITER_REQUIRE_NETNS") == "1" {
			t.Fatalf("netns required but unavailable: %v", err)
		}
		t.Skip(err)
	}
	n, err := Create(runPrefix(tag), nodes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// helper starts the test binary as helper kind inside name's namespace.
func helper(n *Net, name, kind, addr string) *exec.Cmd {
	c := n.Command(name, os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), helperEnv+"="+kind, addrEnv+"="+addr)
	return c
}

// startEcho runs an echo server on name's address and waits until it listens.
func startEcho(t *testing.T, n *Net, name string) string {
	t.Helper()
	addr := net.JoinHostPort(n.IP(name), echoPort)
	c := helper(n, name, "echo", addr)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "listening\n" {
		t.Fatalf("echo server in %s: %q", name, line)
	}
	return addr
}

// reach reports whether from (a node, or "control") gets an echo from to.
func reach(n *Net, from, to string) bool {
	addr := net.JoinHostPort(n.IP(to), echoPort)
	if from == "control" {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		return echo(c, time.Second) == nil
	}
	return helper(n, from, "dial", addr).Run() == nil
}

// checkReach probes every pair in parallel against want (keys "from>to";
// pairs not listed must be reachable).
func checkReach(t *testing.T, n *Net, cut map[string]bool) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, from := range append([]string{"control"}, nodes...) {
		for _, to := range nodes {
			if from == to {
				continue
			}
			wg.Go(func() {
				got, key := reach(n, from, to), from+">"+to
				if got == cut[key] {
					mu.Lock()
					t.Errorf("%s reachable=%v, want %v", key, got, !cut[key])
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
}

func TestCreateAndReach(t *testing.T) {
	n := newNet(t, "a")
	for i, name := range nodes {
		want := n.ControlIP()[:len(n.ControlIP())-1] + strconv.Itoa(10+i)
		if n.IP(name) != want {
			t.Errorf("IP(%s) = %s, want %s", name, n.IP(name), want)
		}
		startEcho(t, n, name)
	}
	if n.IP("nope") != "" {
		t.Error("IP of unknown node should be empty")
	}
	checkReach(t, n, nil)
}

func TestCutEstablishedAndHeal(t *testing.T) {
	n := newNet(t, "b")
	for _, name := range nodes {
		startEcho(t, n, name)
	}
	addr := net.JoinHostPort(n.IP("n0"), echoPort)
	probe := startProber(t, n, "n1", addr)
	if got := probe("echo 1500"); got != "ok" {
		t.Fatalf("before cut: %s", got)
	}
	if err := n.Cut("n0", "n1"); err != nil {
		t.Fatal(err)
	}
	if got := n.Rules(); !reflect.DeepEqual(got, []string{"n0 -x- n1"}) {
		t.Errorf("Rules() = %v", got)
	}
	start := time.Now()
	if got := probe("echo 1500"); got != "timeout" {
		t.Fatalf("established connection still passes bytes after Cut: %s", got)
	}
	t.Logf("cut detected after %v", time.Since(start))
	checkReach(t, n, map[string]bool{"n1>n0": true, "n0>n1": true})
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if len(n.Rules()) != 0 {
		t.Errorf("Rules after Heal: %v", n.Rules())
	}
	if got := probe("echo 10000"); got != "ok" {
		t.Fatalf("established connection not restored by Heal: %s", got)
	}
	checkReach(t, n, nil)
}

// startProber runs a prober in name connected to addr and returns a
// function sending it one command and returning its answer.
func startProber(t *testing.T, n *Net, name, addr string) func(string) string {
	t.Helper()
	c := helper(n, name, "prober", addr)
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); c.Process.Kill(); c.Wait() })
	r := bufio.NewReader(out)
	if line, _ := r.ReadString('\n'); line != "ready\n" {
		t.Fatalf("prober: %q", line)
	}
	return func(cmd string) string {
		in.Write([]byte(cmd + "\n"))
		line, _ := r.ReadString('\n')
		return strings.TrimSpace(line)
	}
}

func TestPartitionAndIsolate(t *testing.T) {
	n := newNet(t, "c")
	for _, name := range nodes {
		startEcho(t, n, name)
	}
	if err := n.Partition([]string{"n0"}, []string{"n1", "n2"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"n0 -x- n1", "n0 -x- n2"}
	if got := n.Rules(); !reflect.DeepEqual(got, want) {
		t.Errorf("Rules() = %v, want %v", got, want)
	}
	checkReach(t, n, map[string]bool{"n0>n1": true, "n1>n0": true,
		"n0>n2": true, "n2>n0": true})
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := n.Partition([]string{"n0"}, []string{"n1"}); err != nil {
		t.Fatal(err)
	}
	checkReach(t, n, map[string]bool{"n0>n1": true, "n1>n0": true})
	n.Heal()
	if err := n.Isolate("n2"); err != nil {
		t.Fatal(err)
	}
	checkReach(t, n, map[string]bool{"n0>n2": true, "n2>n0": true,
		"n1>n2": true, "n2>n1": true})
	n.Heal()
	checkReach(t, n, nil)
}

func TestCloseRemovesEverything(t *testing.T) {
	n := newNet(t, "d")
	prefix := runPrefix("d")
	startEcho(t, n, "n1")
	// A second Create with the same prefix replaces the stale objects.
	n2, err := Create(prefix, nodes)
	if err != nil {
		t.Fatalf("Create over stale objects: %v", err)
	}
	startEcho(t, n2, "n1")
	n2.Cut("n0", "n1")
	for i := 0; i < 2; i++ {
		if err := n2.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	for _, args := range [][]string{{"netns", "list"}, {"link", "show"}} {
		out, _ := exec.Command("ip", args...).Output()
		if strings.Contains(string(out), prefix) {
			t.Errorf("ip %v still shows %s:\n%s", args, prefix, out)
		}
	}
	if out, _ := exec.Command("iptables", "-S", "FORWARD").Output(); strings.Contains(string(out), prefix) {
		t.Errorf("root FORWARD rule left:\n%s", out)
	}
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		prefix string
		names  []string
	}{
		{"", nodes}, {"Bad", nodes}, {"waytoolongprefix", nodes},
		{"ok", nil}, {"ok", []string{"a", "a"}}, {"ok", []string{"a b"}},
	} {
		if _, err := Create(c.prefix, c.names); err == nil {
			t.Errorf("Create(%q, %v) succeeded", c.prefix, c.names)
		}
	}
}

// A one-way cut drops only src's packets to dst, yet a TCP connection
// needs both directions: neither end can connect to the other. Every other
// link, and the control node's, keeps working; Heal removes it.
func TestCutOneWay(t *testing.T) {
	n := newNet(t, "o")
	for _, name := range nodes {
		startEcho(t, n, name)
	}
	if err := n.CutOneWay("n0", "n1"); err != nil {
		t.Fatal(err)
	}
	if err := n.CutOneWay("n0", "n0"); err == nil {
		t.Error("CutOneWay of a node from itself accepted")
	}
	if got := n.Rules(); !reflect.DeepEqual(got, []string{"n0 -> n1 dropped"}) {
		t.Errorf("Rules() = %v", got)
	}
	checkReach(t, n, map[string]bool{"n0>n1": true, "n1>n0": true})
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if len(n.Rules()) != 0 {
		t.Errorf("Rules after Heal: %v", n.Rules())
	}
	checkReach(t, n, nil)
}
