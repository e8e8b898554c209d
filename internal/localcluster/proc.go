package localcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// Proc is one process of the cluster, restartable with the same arguments,
// data directory and ports.
type Proc struct {
	Name    string
	Addr    string // gRPC address
	DataDir string
	LogPath string
	bin     string
	args    []string
	env     []string
	net     Network
	tls     *security.Source // the cluster's admin certificate, for queries; nil: plaintext

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// NewProc lays out a process that is not part of a Cluster (a benchmark's
// stand-in services, say): bin run with args on loopback, its output
// appended to logPath. Nothing is started until Start.
func NewProc(name, addr, bin, logPath string, args ...string) *Proc {
	return &Proc{Name: name, Addr: addr, LogPath: logPath, bin: bin, args: args, net: Loopback{}}
}

// Pid is the operating-system process ID, or 0 when not running.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Start launches the process; its output is appended to LogPath.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.exited: // died on its own (a crash point): start it again
		default:
			return fmt.Errorf("%s is already running", p.Name)
		}
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := p.net.Command(p.Name, p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), p.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	return nil
}

// SetEnv replaces the extra environment used by the next Start.
func (p *Proc) SetEnv(env []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.env = env
}

// Running reports whether the process is alive (stopped counts as alive).
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() error { return p.stop(syscall.SIGKILL, 5*time.Second) }

// Stop sends SIGTERM, then SIGKILL if the process is still up after grace.
func (p *Proc) Stop(grace time.Duration) error {
	if err := p.stop(syscall.SIGTERM, grace); err == nil {
		return nil
	}
	return p.Kill()
}

func (p *Proc) stop(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a paused process cannot exit on SIGTERM
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(wait):
		return errors.New(p.Name + " did not exit in time")
	}
	p.mu.Lock()
	p.cmd = nil
	p.mu.Unlock()
	return nil
}

// Restart starts the process again after a Kill or Stop.
func (p *Proc) Restart() error {
	if p.Running() {
		if err := p.Kill(); err != nil {
			return err
		}
	}
	return p.Start()
}
