package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
)

// serverUser runs the server when the tests run as root.
const serverUser = "postgres"

// findBin returns the directory holding initdb and pg_ctl: $ARBITER_PG_BIN,
// the newest /usr/lib/postgresql/<version>/bin (Debian), or PATH.
func findBin() (string, error) {
	if dir := os.Getenv("ARBITER_PG_BIN"); dir != "" {
		return dir, hasServer(dir)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, dir := range dirs {
		if hasServer(dir) == nil {
			return dir, nil
		}
	}
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(path)
		return dir, hasServer(dir)
	}
	return "", errors.New("pgtest: no PostgreSQL server binaries (initdb, pg_ctl): install postgresql or set ARBITER_PG_BIN")
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func hasServer(dir string) error {
	for _, prog := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, prog)); err != nil {
			return fmt.Errorf("pgtest: %s: %w", prog, err)
		}
	}
	return nil
}

// chownToServerUser gives dir to the server's user when we are root.
func chownToServerUser(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs the %q system user to run PostgreSQL: %w", serverUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}
