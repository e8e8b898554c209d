package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

const dirPrefix = "arbiter-mysql-"

// defaultSettings are passed to every server, before the caller's, which
// override them (mariadbd takes the last of repeated options). The binlog
// is on, and both logs are flushed at every commit: XA PREPARE and XA
// COMMIT must survive a crash of the server.
var defaultSettings = []string{
	"--server-id=1", "--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1",
	"--innodb-buffer-pool-size=32M", "--max-connections=300", "--skip-name-resolve",
	"--character-set-server=utf8mb4", "--innodb-lock-wait-timeout=10",
}

// Server is a MariaDB server owned by a test (or by the demo or the fault
// suite).
type Server struct {
	bin      binaries
	dir      string // everything of this server; removed by Close
	port     int
	bind     string
	settings []string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a server for t and stops it when t ends. settings
// ("--name=value" mariadbd options) override the defaults, e.g.
// "--skip-log-bin".
func Start(t testing.TB, settings ...string) *Server {
	t.Helper()
	s, err := New(settings...)
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Unavailable skips t because no MariaDB server could start, or fails it
// if ARBITER_REQUIRE_MYSQL=1.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("ARBITER_REQUIRE_MYSQL") == "1" {
		t.Fatalf("MariaDB/MySQL required (ARBITER_REQUIRE_MYSQL=1) but unavailable: %v", err)
	}
	t.Skipf("MariaDB/MySQL unavailable (set ARBITER_REQUIRE_MYSQL=1 to fail instead): %v", err)
}

// New initializes a data directory and starts a server on 127.0.0.1. The
// caller must Close it.
func New(settings ...string) (*Server, error) { return NewOn("127.0.0.1", settings...) }

// NewOn is New with the server listening on bind ("127.0.0.1", or also
// another local address: "127.0.0.1,10.0.0.1"). Connections from other
// hosts than loopback get a root account without a password: for tests.
func NewOn(bind string, settings ...string) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	sweepStale()
	s := &Server{bin: bin, port: port, bind: bind, settings: append(append([]string{}, defaultSettings...), settings...)}
	if s.dir, err = os.MkdirTemp("", dirPrefix); err != nil {
		return nil, err
	}
	if err := s.install(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	if err := s.Restart(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	if bind != "127.0.0.1" {
		if err := s.rootFromAnywhere(); err != nil {
			return nil, errors.Join(err, s.Close())
		}
	}
	return s, nil
}

// rootFromAnywhere lets root in without a password from any host (the
// fault suite's banks dial from their network namespaces).
func (s *Server) rootFromAnywhere() error {
	db, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{"CREATE USER IF NOT EXISTS 'root'@'%'", "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION"} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("mysqltest: %s: %w", q, err)
		}
	}
	return nil
}

// DSN connects as root (no password) over TCP to database db ("" for
// none), in go-sql-driver/mysql's format.
func (s *Server) DSN(db string) string { return s.DSNHost("127.0.0.1", db) }

// DSNHost is DSN through another of the server's addresses.
func (s *Server) DSNHost(host, db string) string {
	c := gomysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "tcp", net.JoinHostPort(host, fmt.Sprint(s.port)), db
	return c.FormatDSN()
}

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Socket is the server's Unix socket.
func (s *Server) Socket() string { return filepath.Join(s.run(), "mysqld.sock") }

func (s *Server) data() string { return filepath.Join(s.dir, "data") }
func (s *Server) run() string  { return filepath.Join(s.dir, "run") }

// install creates the data and run directories, owned by the server's
// user, and runs mariadb-install-db into the data directory.
func (s *Server) install() error {
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
	// Its own --tmpdir (as the server's below): servers installed at once
	// must not share /tmp, where one's temporary tables were seen to go
	// missing while another installed ("Could not remove temporary table").
	args := append([]string{"--no-defaults", "--datadir=" + s.data(), "--tmpdir=" + s.run(), "--auth-root-authentication-method=normal",
		"--skip-test-db", "--innodb-buffer-pool-size=32M"}, asServerUser()...)
	out, err := exec.Command(s.bin.installDB, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mysqltest: %s: %w: %s", s.bin.installDB, err, out)
	}
	return nil
}

// Restart starts the server on its data directory (after Stop or Crash)
// and waits until it accepts connections. Prepared XA branches survive.
func (s *Server) Restart() error {
	if s.cmd != nil {
		return errors.New("mysqltest: server is running")
	}
	args := append([]string{"--no-defaults", "--datadir=" + s.data(), "--tmpdir=" + s.run(), "--port=" + fmt.Sprint(s.port),
		"--bind-address=" + s.bind, "--socket=" + s.Socket(), "--pid-file=" + filepath.Join(s.run(), "mariadbd.pid"),
		"--log-bin=" + filepath.Join(s.data(), "binlog"), "--log-error=" + s.logPath()}, asServerUser()...)
	cmd := exec.Command(s.bin.server, append(args, s.settings...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mysqltest: start %s: %w", s.bin.server, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	if err := s.waitReady(2 * time.Minute); err != nil {
		_ = s.Crash()
		return err
	}
	return nil
}

// waitReady polls until the server answers a ping, the process exits or
// timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	db, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	end := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("mysqltest: mariadbd exited while starting: %s", s.LogTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(end) {
			return fmt.Errorf("mysqltest: mariadbd not ready after %v: %v: %s", timeout, err, s.LogTail())
		}
	}
}

// Stop shuts the server down cleanly (SIGTERM), or kills it after a minute.
func (s *Server) Stop() error { return s.signal(syscall.SIGTERM, time.Minute) }

// Crash kills the server (SIGKILL) as a power cut would leave it, minus
// the OS cache: the next start runs crash recovery.
func (s *Server) Crash() error { return s.signal(syscall.SIGKILL, 30*time.Second) }

func (s *Server) signal(sig syscall.Signal, wait time.Duration) error {
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd = nil }()
	_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	select {
	case <-s.done:
		return nil
	case <-time.After(wait):
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	return fmt.Errorf("mysqltest: mariadbd ignored %v for %v; killed", sig, wait)
}

// Close stops the server if it runs and removes its directory.
func (s *Server) Close() error {
	return errors.Join(s.Stop(), os.RemoveAll(s.dir))
}

func (s *Server) logPath() string { return filepath.Join(s.run(), "mariadbd.err") }

// LogTail returns the end of the server's error log (for failure messages).
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(s.logPath())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return strings.TrimSpace(string(b))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
