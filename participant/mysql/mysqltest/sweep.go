package mysqltest

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

// sweepStale kills and removes the servers left behind by test processes
// that died without cleaning up (a panic, a timeout, kill -9). It touches
// only directories whose owner process no longer exists.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		if !pidDead(readPid(filepath.Join(dir, ownerFile))) {
			continue
		}
		if pid := readPid(filepath.Join(dir, "run", "mariadbd.pid")); pid > 0 && !pidDead(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = os.RemoveAll(dir)
	}
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// pidDead: 0 (unknown: being created, or not ours) is never dead.
func pidDead(pid int) bool {
	return pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
