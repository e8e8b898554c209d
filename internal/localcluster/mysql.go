package localcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
)

// mysqlDatabase is the database each bank keeps its accounts and the
// adapter's tables in.
const mysqlDatabase = "arbiter_bank"

// MySQL is one throwaway MariaDB server per bank (package mysqltest:
// mariadb-install-db into a temporary directory, binlog on,
// innodb_flush_log_at_trx_commit=1, sync_binlog=1), for banks started with
// --mysql.
type MySQL struct {
	servers map[string]*mysqltest.Server
	dsn     map[string]string // what the bank dials
}

// StartMySQL starts a server for each bank, with an empty database for
// it. host is the address the banks dial: "127.0.0.1", or the bridge
// address in the root namespace when the banks run in network namespaces
// (the servers then listen there too). The caller must Close it, on every
// path.
func StartMySQL(banks []string, host string) (*MySQL, error) {
	m := &MySQL{servers: map[string]*mysqltest.Server{}, dsn: map[string]string{}}
	bind := "127.0.0.1"
	if host != "127.0.0.1" {
		bind += "," + host
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(banks))
	for i, b := range banks {
		wg.Go(func() {
			s, err := mysqltest.NewOn(bind)
			if err == nil {
				err = createDatabase(s)
				if err != nil {
					err = errors.Join(err, s.Close())
				}
			}
			if err != nil {
				errs[i] = fmt.Errorf("MariaDB for %s: %w", b, err)
				return
			}
			mu.Lock()
			m.servers[b] = s
			m.dsn[b] = s.DSNHost(host, mysqlDatabase)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return m, nil
}

func createDatabase(s *mysqltest.Server) error {
	db, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("CREATE DATABASE IF NOT EXISTS " + mysqlDatabase)
	return err
}

// DSN is the connection string bank dials.
func (m *MySQL) DSN(bank string) string { return m.dsn[bank] }

// BankArgs are the bank's extra arguments (see Options.BankArgs).
func (m *MySQL) BankArgs(bank string) []string {
	if dsn, ok := m.dsn[bank]; ok {
		return []string{"--mysql", dsn}
	}
	return nil
}

// Outcomes reads the outcomes the MySQL adapter recorded for bank
// (participant ID bank): tx ID -> "C" (committed) or "A" (aborted). It
// connects over loopback, so it works whatever the banks' network.
func (m *MySQL) Outcomes(ctx context.Context, bank string) (map[string]string, error) {
	s, ok := m.servers[bank]
	if !ok {
		return nil, fmt.Errorf("no MariaDB server for %s", bank)
	}
	db, err := sql.Open("mysql", s.DSN(mysqlDatabase))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT tx_id, outcome FROM arbiter_outcomes WHERE participant = ?`, bank)
	if err != nil {
		return nil, fmt.Errorf("read arbiter_outcomes: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var txID []byte
		var outcome string
		if err := rows.Scan(&txID, &outcome); err != nil {
			return nil, err
		}
		out[string(txID)] = strings.TrimSpace(outcome)
	}
	return out, rows.Err()
}

// Close stops every server and removes its files.
func (m *MySQL) Close() error {
	var errs []error
	for name, s := range m.servers {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("MariaDB for %s: %w", name, err))
		}
	}
	m.servers = map[string]*mysqltest.Server{}
	return errors.Join(errs...)
}
