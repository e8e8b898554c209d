package mysql

import (
	"errors"
	"fmt"

	gomysql "github.com/go-sql-driver/mysql"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/participant"
)

// Errors of this package. The heuristic errors wrap the participant
// sentinels participant.ErrHeuristicRollback and
// participant.ErrHeuristicCommit, exactly as the PostgreSQL adapter's do,
// so the agent counts them (arbiter_participant_heuristic_outcomes_total)
// and participant.StatusError sends them as FAILED_PRECONDITION with the
// machine-readable reason HEURISTIC_ROLLBACK / HEURISTIC_COMMIT (message
// prefix and ErrorInfo). The coordinator logs them at error level, counts
// them and keeps retrying, so the transaction stays visible as unfinished
// until an operator acts.
var (
	// ErrHeuristicRollback: Commit found neither the prepared XA branch
	// nor its marker row. Something outside Arbiter ran XA ROLLBACK: this
	// participant lost work the coordinators decided to commit. Repair the
	// data by hand.
	ErrHeuristicRollback = fmt.Errorf("%w: the prepared XA branch was rolled back outside Arbiter (XA ROLLBACK by hand?) although the decision is COMMIT; repair this participant's data by hand", participant.ErrHeuristicRollback)
	// ErrHeuristicCommit: Abort found the transaction's marker row
	// committed. Something outside Arbiter ran XA COMMIT although the
	// decision is ABORT. Repair the data by hand.
	ErrHeuristicCommit = fmt.Errorf("%w: the prepared XA branch was committed outside Arbiter (XA COMMIT by hand?) although the decision is ABORT; repair this participant's data by hand", participant.ErrHeuristicCommit)
	// ErrInvalidID: a participant or transaction ID cannot form an XID.
	ErrInvalidID = errors.New("mysql: invalid ID")
	// ErrUnsafeServer: the server's settings could lose prepared branches,
	// tombstones or terms in a crash, or it cannot run XA safely.
	ErrUnsafeServer = errors.New("mysql: server settings unsafe for XA")
	// ErrNoTables: the adapter's tables are missing (or not InnoDB).
	ErrNoTables = errors.New("mysql: the adapter's tables are missing: run the migration first (mysql.Migrate, or the SQL of participant/mysql/migrations/*.sql) in the DSN's database")
	// ErrBadDSN: the DSN does not parse or names no database.
	ErrBadDSN = errors.New("mysql: invalid DSN")
	// ErrLockWait: a lock wait (or statement) of the local transaction
	// ran out of time: innodb_lock_wait_timeout (error 1205), cut to 3/4
	// of the time left before the caller's deadline, or MariaDB's
	// max_statement_time (error 1969) set to the same. A no vote: retry
	// the transaction.
	ErrLockWait = fmt.Errorf("%w: mysql: lock wait ran out of time (behind a prepared branch or another writer): retry the transaction", participant.ErrLockTimeout)
	// ErrDeadlock: InnoDB chose this local transaction as a deadlock
	// victim (error 1213) and rolled it back. A no vote: retry the
	// transaction.
	ErrDeadlock = fmt.Errorf("%w: mysql: deadlock (error 1213), InnoDB rolled the local transaction back: retry the transaction", participant.ErrLockTimeout)
)

// MySQL/MariaDB error numbers the adapter reacts to.
const (
	errDupEntry         = 1062
	errNoSuchThread     = 1094
	errNoSuchTable      = 1146
	errUnknownVariable  = 1193
	errLockWaitTimeout  = 1205
	errDeadlock         = 1213
	errXAERNota         = 1397 // XA COMMIT/ROLLBACK of an unknown (or attached) XID
	errXARBDeadlock     = 1614
	errXARBTimeout      = 1613
	errStatementTimeout = 1969 // MariaDB max_statement_time
)

func hasCode(err error, codes ...uint16) bool {
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	for _, c := range codes {
		if me.Number == c {
			return true
		}
	}
	return false
}

// classify turns the lock errors of a local transaction's statement into
// ErrDeadlock / ErrLockWait (keeping the server's message); others pass.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case hasCode(err, errDeadlock, errXARBDeadlock):
		return fmt.Errorf("%w (%w)", ErrDeadlock, err)
	case hasCode(err, errLockWaitTimeout, errStatementTimeout, errXARBTimeout):
		return fmt.Errorf("%w (%w)", ErrLockWait, err)
	}
	return err
}

// heuristic reports a heuristic outcome loudly: an error log, the counter
// (HeuristicOutcomes) and the returned error.
func (s *Store) heuristic(txID string, err error) error {
	s.heuristics.Add(1)
	s.log.Error("heuristic outcome: prepared work was decided outside Arbiter",
		zap.String("tx-id", txID), zap.String("participant-id", s.id), zap.Error(err))
	return fmt.Errorf("%w (participant %s, tx %s)", err, s.id, txID)
}

// HeuristicOutcomes counts the heuristic outcomes detected since Open
// (ErrHeuristicRollback and ErrHeuristicCommit returned). The coordinator
// retries a refused decision, so one transaction may count several times:
// alert on any increase. Export it with a prometheus.CounterFunc.
func (s *Store) HeuristicOutcomes() uint64 { return s.heuristics.Load() }
