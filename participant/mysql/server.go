package mysql

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// checkServer refuses a server that loses prepared XA branches on
// disconnect (MySQL before 5.7.7, MariaDB before 10.5.2), has XA turned
// off, or could lose a prepared branch, a tombstone or a term in a crash.
func (s *Store) checkServer(ctx context.Context) error {
	var version, logBin string
	var flush, syncBinlog int64
	err := s.db.QueryRowContext(ctx, `SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@log_bin, @@sync_binlog`).
		Scan(&version, &flush, &logBin, &syncBinlog)
	if err != nil {
		return fmt.Errorf("mysql: read server settings: %w", err)
	}
	s.mariadb = strings.Contains(version, "MariaDB")
	if err := checkVersion(version); err != nil {
		return err
	}
	if err := s.checkXASupport(ctx); err != nil {
		return err
	}
	binlog := logBin == "1" || strings.EqualFold(logBin, "ON")
	switch {
	case flush != 1:
		return fmt.Errorf("%w: innodb_flush_log_at_trx_commit is %d: a crash could lose prepared branches, tombstones and terms; set innodb_flush_log_at_trx_commit=1", ErrUnsafeServer, flush)
	case binlog && syncBinlog != 1:
		return fmt.Errorf("%w: the binlog is on with sync_binlog=%d: a crash could lose the binlog's record of XA PREPARE/COMMIT while InnoDB kept it; set sync_binlog=1", ErrUnsafeServer, syncBinlog)
	case !binlog && s.opts.RequireBinlog:
		return fmt.Errorf("%w: the binary log is off but Options.RequireBinlog is set: start the server with log_bin (and sync_binlog=1)", ErrUnsafeServer)
	}
	return nil
}

// checkXASupport refuses innodb_support_xa=OFF (MySQL before 5.7.10 had
// the switch; later servers and MariaDB have XA always on).
func (s *Store) checkXASupport(ctx context.Context) error {
	var on string
	err := s.db.QueryRowContext(ctx, `SELECT @@innodb_support_xa`).Scan(&on)
	switch {
	case hasCode(err, errUnknownVariable):
		return nil
	case err != nil:
		return fmt.Errorf("mysql: read innodb_support_xa: %w", err)
	case on == "0" || strings.EqualFold(on, "OFF"):
		return fmt.Errorf("%w: innodb_support_xa is OFF: XA is disabled; set innodb_support_xa=ON", ErrUnsafeServer)
	}
	return nil
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// checkVersion refuses servers that roll a prepared XA branch back when
// its session disconnects: MySQL before 5.7.7 and MariaDB before 10.5.2.
func checkVersion(version string) error {
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return fmt.Errorf("%w: cannot read the server version %q", ErrUnsafeServer, version)
	}
	v := [3]int{}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	name, min := "MySQL", [3]int{5, 7, 7}
	if strings.Contains(version, "MariaDB") {
		name, min = "MariaDB", [3]int{10, 5, 2}
	}
	if less(v, min) {
		return fmt.Errorf("%w: %s %s rolls prepared XA branches back when their connection ends; use %s %d.%d.%d or later",
			ErrUnsafeServer, name, version, name, min[0], min[1], min[2])
	}
	return nil
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
