package mysqltest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
)

// serverUser runs the server when the tests run as root.
const serverUser = "mysql"

// binaries are the programs a Server runs.
type binaries struct {
	server, installDB string
}

// findBin looks for mariadbd and mariadb-install-db (or mysqld and
// mysql_install_db) in $ARBITER_MYSQL_BIN, /usr/sbin, /usr/bin, then PATH.
func findBin() (binaries, error) {
	dirs := []string{"/usr/sbin", "/usr/bin"}
	if dir := os.Getenv("ARBITER_MYSQL_BIN"); dir != "" {
		dirs = []string{dir}
	}
	server := lookup(dirs, "mariadbd", "mysqld")
	install := lookup(dirs, "mariadb-install-db", "mysql_install_db")
	if server == "" || install == "" {
		return binaries{}, errors.New("mysqltest: no MariaDB server binaries (mariadbd, mariadb-install-db): apt-get install mariadb-server, or set ARBITER_MYSQL_BIN")
	}
	return binaries{server: server, installDB: install}, nil
}

func lookup(dirs []string, names ...string) string {
	for _, name := range names {
		for _, dir := range dirs {
			if p := filepath.Join(dir, name); isExec(p) {
				return p
			}
		}
		if os.Getenv("ARBITER_MYSQL_BIN") == "" {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// chownToServerUser gives dir to the server's user when we are root.
func chownToServerUser(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return fmt.Errorf("mysqltest: running as root needs the %q system user to run MariaDB: %w", serverUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// asServerUser is the --user option when we are root.
func asServerUser() []string {
	if os.Geteuid() == 0 {
		return []string{"--user=" + serverUser}
	}
	return nil
}
