package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbiter-tx/arbiter/internal/localcluster"
)

// bankDatabases are the banks' database servers (one per bank), when the
// banks do not run on the embedded store: localcluster.Postgres or
// localcluster.MySQL.
type bankDatabases interface {
	BankArgs(bank string) []string
	Outcomes(ctx context.Context, bank string) (map[string]string, error)
	Close() error
}

var (
	// ErrNoPostgres: Config.Postgres is set but the PostgreSQL servers
	// could not start (no server binaries, say).
	ErrNoPostgres = errors.New("cannot start PostgreSQL for the banks")
	// ErrNoMySQL: Config.MySQL is set but the MariaDB servers could not
	// start (no server binaries, say).
	ErrNoMySQL = errors.New("cannot start MariaDB for the banks")
)

var banks = []string{"bank1", "bank2", "bank3"}

// startDatabases starts the banks' database servers the run asks for, in
// the root namespace, reachable at controlHost.
func (e *env) startDatabases() error {
	switch {
	case e.cfg.Postgres && e.cfg.MySQL:
		return errors.New("runner: Config.Postgres and Config.MySQL are both set: choose one database")
	case e.cfg.Postgres:
		pg, err := localcluster.StartPostgres(banks, e.controlHost())
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoPostgres, err)
		}
		e.db = pg
	case e.cfg.MySQL:
		my, err := localcluster.StartMySQL(banks, e.controlHost())
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoMySQL, err)
		}
		e.db = my
	}
	return nil
}
