package postgres

import (
	"errors"
	"fmt"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
)

// Errors of this package. The heuristic errors wrap the participant
// sentinels participant.ErrHeuristicRollback and
// participant.ErrHeuristicCommit, so the agent counts them
// (arbiter_participant_heuristic_outcomes_total) and participant.StatusError
// sends them as FAILED_PRECONDITION with the machine-readable reason
// HEURISTIC_ROLLBACK / HEURISTIC_COMMIT (message prefix and ErrorInfo). The
// coordinator logs them at error level, counts them and keeps retrying, so
// the transaction stays visible as unfinished until an operator acts.
var (
	// ErrHeuristicRollback: Commit found neither the prepared transaction
	// nor its marker row. Something outside Arbiter ran ROLLBACK PREPARED:
	// this participant lost work the coordinators decided to commit.
	// Repair the data by hand.
	ErrHeuristicRollback = fmt.Errorf("%w: the prepared transaction was rolled back outside Arbiter (ROLLBACK PREPARED by hand?) although the decision is COMMIT; repair this participant's data by hand", participant.ErrHeuristicRollback)
	// ErrHeuristicCommit: Abort found the transaction's marker row committed.
	// Something outside Arbiter ran COMMIT PREPARED although the decision is
	// ABORT. Repair the data by hand.
	ErrHeuristicCommit = fmt.Errorf("%w: the prepared transaction was committed outside Arbiter (COMMIT PREPARED by hand?) although the decision is ABORT; repair this participant's data by hand", participant.ErrHeuristicCommit)
	// ErrInvalidID: a participant or transaction ID cannot form a gid.
	ErrInvalidID = errors.New("postgres: invalid ID")
	// ErrNoPreparedTransactions: the server has max_prepared_transactions = 0.
	ErrNoPreparedTransactions = errors.New("postgres: max_prepared_transactions is 0: set it > 0 in postgresql.conf (at least max_connections is a safe value) and restart PostgreSQL")
)

// SQLSTATE codes the adapter reacts to.
const (
	codeUndefinedObject = "42704" // COMMIT/ROLLBACK PREPARED of an unknown gid
	codeUniqueViolation = "23505"
)

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
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
