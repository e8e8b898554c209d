package pgtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DefaultSettings are passed to every server (as -c name=value), before
// the caller's, which override them.
var defaultSettings = []string{
	"max_prepared_transactions=64", "fsync=on", "listen_addresses=127.0.0.1",
	"shared_buffers=16MB", "max_connections=100",
}

// Server is a PostgreSQL server owned by a test.
type Server struct {
	// DSN connects as the superuser "postgres" (trust auth) to the
	// "postgres" database over TCP.
	DSN string

	bin      string // directory of initdb and pg_ctl
	dir      string // everything of this server; removed by Close
	port     int
	settings []string
}

// Start starts a server for t and stops it when t ends. settings
// ("name=value") override the defaults, e.g. "max_prepared_transactions=0".
func Start(t testing.TB, settings ...string) *Server {
	t.Helper()
	s, err := New(settings...)
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Unavailable skips t because no PostgreSQL server could start, or fails it
// if ARBITER_REQUIRE_POSTGRES=1.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("ARBITER_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("PostgreSQL required (ARBITER_REQUIRE_POSTGRES=1) but unavailable: %v", err)
	}
	t.Skipf("PostgreSQL unavailable (set ARBITER_REQUIRE_POSTGRES=1 to fail instead): %v", err)
}

// New initializes a data directory and starts a server on it. The caller
// must Close it.
func New(settings ...string) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, port: port, settings: append(append([]string{}, defaultSettings...), settings...)}
	s.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	sweepStale(bin)
	if s.dir, err = os.MkdirTemp("", "arbiter-pg-"); err != nil {
		return nil, err
	}
	if err := s.initdb(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	if err := s.Restart(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }
func (s *Server) run() string  { return filepath.Join(s.dir, "run") }

// initdb creates the data and run directories, owned by the server's user.
func (s *Server) initdb() error {
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	if err := claim(s.dir); err != nil {
		return err
	}
	for _, d := range []string{s.data(), s.run()} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
		if err := chownToServerUser(d); err != nil {
			return err
		}
	}
	return s.pg("initdb", "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
}

// Restart starts the server on its data directory (after Stop or Crash)
// and waits until it accepts connections. Prepared transactions survive.
func (s *Server) Restart() error {
	opts := "-c port=" + fmt.Sprint(s.port) + " -c unix_socket_directories=" + s.run()
	for _, set := range s.settings {
		opts += " -c " + set
	}
	return s.pg("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.run(), "postgres.log"),
		"-w", "-t", "120", "-o", opts, "start")
}

// Stop shuts the server down cleanly (pg_ctl stop -m fast).
func (s *Server) Stop() error { return s.stop("fast") }

// Crash kills the server as a power cut would leave it, minus the OS
// cache (pg_ctl stop -m immediate): no shutdown checkpoint; the next start
// replays the WAL.
func (s *Server) Crash() error { return s.stop("immediate") }

func (s *Server) stop(mode string) error {
	return s.pg("pg_ctl", "-D", s.data(), "-m", mode, "-w", "-t", "60", "stop")
}

// Close stops the server if it runs and removes its directory.
func (s *Server) Close() error {
	var err error
	if _, statErr := os.Stat(filepath.Join(s.data(), "postmaster.pid")); statErr == nil {
		err = s.Stop()
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// Log returns the server log so far (for failure messages).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.run(), "postgres.log"))
	return string(b)
}

// pg runs a PostgreSQL program, as the postgres user when we are root.
func (s *Server) pg(prog string, args ...string) error {
	path := filepath.Join(s.bin, prog)
	cmd := exec.Command(path, args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", serverUser, "--", path}, args...)...)
	}
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s %s: %w: %s", prog, strings.Join(args, " "), err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
