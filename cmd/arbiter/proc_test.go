package main

import (
	"context"
	"crypto/tls"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/arbiter-tx/arbiter/cmd/internal/badconn"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// arbiterBinary builds cmd/arbiter into a test directory and returns its
// path (the build cache makes every build after the first a link).
func arbiterBinary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "arbiter")
	if out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return path
}

// proc is one running arbiter process whose stderr goes to a file.
type proc struct {
	cmd    *exec.Cmd
	stderr string
	done   chan struct{}
}

// startArbiter runs the binary with args; t.Cleanup stops it (SIGTERM,
// then SIGKILL after 10 s) and waits for it.
func startArbiter(t *testing.T, args ...string) *proc {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "arbiter-*.log")
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: exec.Command(arbiterBinary(t), args...), stderr: f.Name(), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.stderr)
	return string(b)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitUntil polls cond every 50 ms for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// freeAddrs returns n loopback addresses nothing listens on (for now).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		defer l.Close()
	}
	return addrs
}

// writeIdentity issues a fresh certificate for id and writes it over the
// files in dir (node.crt, node.key); it returns the new serial.
func writeIdentity(t *testing.T, ca *security.CA, dir string, id security.Identity) *big.Int {
	t.Helper()
	now := time.Now()
	certPEM, keyPEM, err := ca.Issue(id, sectest.Loopback, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"node.key": keyPEM, "node.crt": certPEM} {
		if err := os.WriteFile(filepath.Join(dir, name+".tmp"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, name+".tmp"), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	src, err := security.Load(filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key"), filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := src.ClientTLS("x").GetClientCertificate(nil)
	return cert.Leaf.SerialNumber
}

// servedSerial is the serial of the certificate a TLS server at addr
// presents to client (any port: gRPC or Raft).
func servedSerial(client *security.Source, addr string) (*big.Int, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, client.ClientTLS("127.0.0.1"))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// serving reports whether the gRPC health service at addr says SERVING.
func serving(t *testing.T, client *security.Source, addr string) bool {
	cc, err := grpc.NewClient(addr, security.DialOption(client))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// singleNode starts `arbiter serve` as a one-node cluster over mutual TLS
// with certificates in a directory of its own, and waits until it serves.
type singleNode struct {
	p                                *proc
	ca                               *security.CA
	certDir                          string
	raft, grpc, http, pprof, dataDir string
	admin                            *security.Source
}

func startSingleNode(t *testing.T, extra ...string) *singleNode {
	t.Helper()
	pki := sectest.New(t)
	n := &singleNode{ca: pki.CA, certDir: t.TempDir(), dataDir: t.TempDir(), admin: pki.Source(security.RoleAdmin, "ops")}
	if err := pki.CA.WriteCA(n.certDir); err != nil {
		t.Fatal(err)
	}
	writeIdentity(t, n.ca, n.certDir, security.Identity{Role: security.RoleCoordinator, ID: "n1"})
	a := freeAddrs(t, 4)
	n.raft, n.grpc, n.http, n.pprof = a[0], a[1], a[2], a[3]
	args := append([]string{"serve", "--id", "n1", "--peers", "n1=" + n.raft + "/" + n.grpc, "--data-dir", n.dataDir,
		"--tls-cert", filepath.Join(n.certDir, "node.crt"), "--tls-key", filepath.Join(n.certDir, "node.key"),
		"--tls-ca", filepath.Join(n.certDir, "ca.crt"), "--http-addr", n.http, "--pprof-addr", n.pprof}, extra...)
	n.p = startArbiter(t, args...)
	waitUntil(t, 60*time.Second, "the node to serve", func() bool {
		if n.p.exited() {
			t.Fatalf("arbiter serve exited:\n%s", n.p.log())
		}
		return serving(t, n.admin, n.grpc)
	})
	return n
}

// beginAndAbort checks the node still runs transactions.
func (n *singleNode) beginAndAbort(t *testing.T) {
	t.Helper()
	cc, err := grpc.NewClient(n.grpc, security.DialOption(n.admin))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli := arbiterpb.NewCoordinatorClient(cc)
	begun, err := cli.Begin(ctx, &arbiterpb.BeginRequest{})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if out, err := cli.Abort(ctx, &arbiterpb.AbortRequest{TxId: begun.GetTxId()}); err != nil || out.GetOutcome() != arbiterpb.Outcome_OUTCOME_ABORT {
		t.Fatalf("Abort: %v, %v", out, err)
	}
}

// SIGHUP makes a running node serve a replaced certificate on both its
// gRPC and its Raft port, without a restart, and it keeps working.
func TestSIGHUPReloadsCertificateOnGRPCAndRaftPorts(t *testing.T) {
	n := startSingleNode(t)
	for _, port := range []string{n.grpc, n.raft} {
		if _, err := servedSerial(n.admin, port); err != nil {
			t.Fatalf("TLS handshake with %s: %v", port, err)
		}
	}
	old, _ := servedSerial(n.admin, n.grpc)
	fresh := writeIdentity(t, n.ca, n.certDir, security.Identity{Role: security.RoleCoordinator, ID: "n1"})
	if fresh.Cmp(old) == 0 {
		t.Fatal("the new certificate has the old serial")
	}
	for _, port := range []string{n.grpc, n.raft} {
		if got, err := servedSerial(n.admin, port); err != nil || got.Cmp(old) != 0 {
			t.Fatalf("%s before SIGHUP: serial %v, %v (want the old %v: files alone must not switch it)", port, got, err, old)
		}
	}
	pid := n.p.cmd.Process.Pid
	if err := n.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{n.grpc, n.raft} {
		waitUntil(t, 10*time.Second, port+" to serve the new serial", func() bool {
			got, err := servedSerial(n.admin, port)
			return err == nil && got.Cmp(fresh) == 0
		})
	}
	if n.p.exited() || n.p.cmd.Process.Pid != pid {
		t.Fatalf("the node restarted:\n%s", n.p.log())
	}
	if !strings.Contains(n.p.log(), "TLS certificate reloaded") {
		t.Error("no reload logged")
	}
	waitUntil(t, 10*time.Second, "SERVING after the reload", func() bool { return serving(t, n.admin, n.grpc) })
	n.beginAndAbort(t)
}

// Bad connections on the --http-addr (metrics, status page) and
// --pprof-addr ports: random bytes, silent connections, garbage HTTP. The
// node keeps serving them and its gRPC API.
func TestServeSurvivesBadConnsOnHTTPPorts(t *testing.T) {
	n := startSingleNode(t)
	for _, u := range []string{"http://" + n.http + "/metrics", "http://" + n.pprof + "/debug/pprof/"} {
		waitUntil(t, 10*time.Second, u, func() bool { return badconn.HTTPOK(u) })
	}
	held := badconn.Send(t, n.http, n.pprof)
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	for _, u := range []string{"http://" + n.http + "/metrics", "http://" + n.http + "/", "http://" + n.pprof + "/debug/pprof/"} {
		if !badconn.HTTPOK(u) {
			t.Errorf("%s no longer answers after bad connections", u)
		}
	}
	if n.p.exited() {
		t.Fatalf("the node died:\n%s", n.p.log())
	}
	n.beginAndAbort(t)
}
