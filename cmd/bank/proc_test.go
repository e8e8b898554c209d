package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// binary is the bank built once per test process with -tags failpoints.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// bankBinary builds cmd/bank with -tags failpoints (once) and returns its path.
func bankBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "arbiter-bank-bin-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "bank")
		out, err := exec.Command("go", "build", "-tags", "failpoints", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build -tags failpoints: %w: %s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// bankProc is one run of the bank binary.
type bankProc struct {
	cmd  *exec.Cmd
	logf string
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, once done is closed
}

// startBank runs the bank binary with args and the extra environment env
// (NAME=value), logging to a file in dir; t.Cleanup kills it if it still
// runs.
func startBank(t *testing.T, dir string, env []string, args ...string) *bankProc {
	t.Helper()
	p := &bankProc{done: make(chan struct{})}
	logFile, err := os.CreateTemp(dir, "bank-*.log")
	if err != nil {
		t.Fatal(err)
	}
	p.logf = logFile.Name()
	p.cmd = exec.Command(bankBinary(t), args...)
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill(t) })
	return p
}

// cleanEnv is this process's environment without ARBITER_* variables, so
// the caller's settings (failpoints, TLS, DSN) do not leak into the bank.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARBITER_") {
			out = append(out, kv)
		}
	}
	return out
}

// kill stops the process (SIGKILL) if it runs and waits for it.
func (p *bankProc) kill(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	if !p.exited(10 * time.Second) {
		t.Errorf("bank pid %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

// exited waits up to d for the process to end.
func (p *bankProc) exited(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// killedBySIGKILL reports whether the process ended by SIGKILL.
func (p *bankProc) killedBySIGKILL() bool {
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// waitLog polls the process log until it contains substr.
func (p *bankProc) waitLog(t *testing.T, substr string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(p.logf); strings.Contains(string(b), substr) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("bank exited (%v) before logging %q:\n%s", p.err, substr, p.log())
		default:
		}
	}
	t.Fatalf("bank did not log %q within %v:\n%s", substr, d, p.log())
}

func (p *bankProc) log() string {
	b, _ := os.ReadFile(p.logf)
	return string(b)
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// bankClient dials the bank's gRPC server as an orchestrating service
// would: the transaction ID travels in metadata (client.UnaryClientInterceptor).
func bankClient(t *testing.T, addr string) (bankpb.BankClient, arbiterpb.ParticipantClient) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return bankpb.NewBankClient(conn), arbiterpb.NewParticipantClient(conn)
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
