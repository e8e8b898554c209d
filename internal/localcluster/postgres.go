package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/arbiter-tx/arbiter/participant/postgres"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
)

// Postgres is one throwaway PostgreSQL server per bank (package pgtest:
// initdb into a temporary directory, prepared transactions enabled), for
// banks started with --postgres.
type Postgres struct {
	servers map[string]*pgtest.Server
	dsn     map[string]string // what the bank dials
	hbaDir  string            // pg_hba.conf admitting the bridge's subnet; "" on loopback
}

// StartPostgres starts a server for each bank. host is the address the
// banks dial: "127.0.0.1", or the bridge address in the root namespace when
// the banks run in network namespaces (the servers then listen there too
// and admit clients of the directly connected subnets). The caller must
// Close it, on every path.
func StartPostgres(banks []string, host string) (*Postgres, error) {
	p := &Postgres{servers: map[string]*pgtest.Server{}, dsn: map[string]string{}}
	var settings []string
	if host != "127.0.0.1" {
		hba, err := p.writeHBA()
		if err != nil {
			return nil, err
		}
		settings = []string{"listen_addresses=127.0.0.1," + host, "hba_file=" + hba}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(banks))
	for i, b := range banks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := pgtest.New(settings...)
			if err != nil {
				errs[i] = fmt.Errorf("PostgreSQL for %s: %w", b, err)
				return
			}
			mu.Lock()
			p.servers[b] = s
			p.dsn[b] = strings.Replace(s.DSN, "@127.0.0.1:", "@"+host+":", 1)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
}

// writeHBA writes a pg_hba.conf the server's user can read: trust on
// loopback and on the subnets the server is directly connected to.
func (p *Postgres) writeHBA() (string, error) {
	dir, err := os.MkdirTemp("", "arbiter-pghba-")
	if err != nil {
		return "", err
	}
	p.hbaDir = dir
	path := filepath.Join(dir, "pg_hba.conf")
	conf := "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all samenet trust\n"
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(conf), 0o644)
}

// DSN is the connection string bank dials.
func (p *Postgres) DSN(bank string) string { return p.dsn[bank] }

// BankArgs are the bank's extra arguments (see Options.BankArgs).
func (p *Postgres) BankArgs(bank string) []string {
	if dsn, ok := p.dsn[bank]; ok {
		return []string{"--postgres", dsn}
	}
	return nil
}

// Outcomes reads the outcomes the PostgreSQL adapter recorded for bank
// (participant ID bank, default schema): tx ID -> "C" (committed) or "A"
// (aborted). It connects over loopback, so it works whatever the banks'
// network.
func (p *Postgres) Outcomes(ctx context.Context, bank string) (map[string]string, error) {
	s, ok := p.servers[bank]
	if !ok {
		return nil, fmt.Errorf("no PostgreSQL server for %s", bank)
	}
	conn, err := pgx.Connect(ctx, s.DSN)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	table := pgx.Identifier{postgres.DefaultSchema, "arbiter_outcomes"}.Sanitize()
	rows, err := conn.Query(ctx, `SELECT tx_id, outcome::text FROM `+table+` WHERE participant = $1`, bank)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	out := map[string]string{}
	var txID, outcome string
	_, err = pgx.ForEachRow(rows, []any{&txID, &outcome}, func() error {
		out[txID] = outcome
		return nil
	})
	return out, err
}

// Close stops every server and removes its files.
func (p *Postgres) Close() error {
	var errs []error
	for name, s := range p.servers {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("PostgreSQL for %s: %w", name, err))
		}
	}
	p.servers = map[string]*pgtest.Server{}
	if p.hbaDir != "" {
		errs = append(errs, os.RemoveAll(p.hbaDir))
	}
	return errors.Join(errs...)
}
