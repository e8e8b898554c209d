package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ownerFile holds the pid of the process that created a server directory.
const ownerFile = "owner.pid"

// claim records this process as the owner of dir.
func claim(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// sweepStale stops and removes the servers left behind by test processes
// that died without cleaning up (a panic, a timeout, kill -9). It touches
// only directories whose owner process no longer exists.
func sweepStale(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "arbiter-pg-*"))
	for _, dir := range dirs {
		if !ownerDead(dir) {
			continue
		}
		s := &Server{bin: bin, dir: dir}
		if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err == nil {
			_ = s.Crash()
		}
		_ = os.RemoveAll(dir)
	}
}

func ownerDead(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false // being created, or not ours
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
