package deploy

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = l.Close() }()
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports
}

// clusterScript runs scripts/cluster.sh with env and returns its output.
func clusterScript(t *testing.T, env []string, arg string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "../scripts/cluster.sh", arg)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestClusterScript starts a real three-node cluster with the script, sees
// a leader, and checks stop leaves no process behind.
func TestClusterScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "arbiter")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/arbiter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p := freePorts(t, 9)
	dir := filepath.Join(tmp, "data")
	env := []string{"ARBITER_BIN=" + bin, "CLUSTER_DIR=" + dir, "CLUSTER_WAIT=60",
		"CLUSTER_RAFT_PORTS=" + strings.Join(p[:3], " "), "CLUSTER_GRPC_PORTS=" + strings.Join(p[3:6], " "),
		"CLUSTER_HTTP_PORTS=" + strings.Join(p[6:], " ")}
	t.Cleanup(func() { _, _ = clusterScript(t, env, "stop") })
	if out, err := clusterScript(t, env, "start"); err != nil || !strings.Contains(out, "Leader") {
		t.Fatalf("start: %v\n%s", err, out)
	}
	pids := readPids(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "certs", "ca.crt")); err != nil {
		t.Fatalf("start made no dev CA (the cluster must run on TLS by default): %v", err)
	}
	checkTxCommands(t, bin, "127.0.0.1:"+p[3]+",127.0.0.1:"+p[4], filepath.Join(dir, "certs"))
	for _, port := range p[6:] { // every node serves its status page and metrics
		for _, path := range []string{"/", "/metrics"} {
			resp, err := http.Get("http://127.0.0.1:" + port + path)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s on node port %s: %v %v", path, port, resp, err)
			}
			_ = resp.Body.Close()
		}
	}
	out, err := clusterScript(t, env, "status")
	if err != nil || strings.Count(out, "running (pid") != 3 || !strings.Contains(out, "Leader") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if out, err := clusterScript(t, env, "stop"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("pid %d still alive after stop", pid)
		}
	}
}

func readPids(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	for _, n := range []string{"n1", "n2", "n3"} {
		b, err := os.ReadFile(filepath.Join(dir, n+".pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(fmt.Errorf("%s.pid: %w", n, err))
		}
		pids = append(pids, pid)
	}
	return pids
}

// checkTxCommands runs `arbiter tx list` (with --progress) and `tx show`
// against the cluster as its admin, over mutual TLS with the certificates
// in certs; and checks that plaintext is refused.
func checkTxCommands(t *testing.T, bin, addrs, certs string) {
	t.Helper()
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(args, "--addr", addrs)...)
		cmd.Env = append(os.Environ(), "ARBITER_TLS_CERT="+filepath.Join(certs, "admin-admin.crt"),
			"ARBITER_TLS_KEY="+filepath.Join(certs, "admin-admin.key"), "ARBITER_TLS_CA="+filepath.Join(certs, "ca.crt"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	plain := exec.Command(bin, "tx", "list", "--addr", addrs, "--insecure")
	if out, err := plain.CombinedOutput(); err == nil {
		t.Errorf("a plaintext tx list was answered: %s", out)
	}
	if out, err := run("tx", "list", "--state", "in-doubt", "--output", "json"); err != nil || out != "[]\n" {
		t.Errorf("tx list: %v %q", err, out)
	}
	if out, err := run("tx", "list", "--progress"); err != nil || !strings.Contains(out, "listed 0 transactions…, done\n") {
		t.Errorf("tx list --progress: %v %q", err, out)
	}
	if out, err := run("tx", "show", "no-such-tx"); err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("tx show of an unknown ID: %v %q", err, out)
	}
	if out, err := run("health"); err != nil || strings.Count(out, "SERVING") != 2 {
		t.Errorf("health: %v %q", err, out)
	}
}
