package postgres

import (
	"errors"
	"fmt"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
)

// Errors of this package. The heuristic errors wrap the participant
// sentinels, so participant.StatusError maps them with no change to the
// agent: ErrHeuristicRollback is codes.FailedPrecondition (it wraps
// participant.ErrNotPrepared), ErrHeuristicCommit too (it wraps
// participant.ErrAlreadyCommitted). Their messages say "heuristic" and what
// to do; the coordinator keeps retrying and logs each refusal, so the
// transaction stays visible as unfinished until an operator acts.
var (
	// ErrHeuristicRollback: Commit found neither the prepared transaction
	// nor its marker row. Something outside Arbiter ran ROLLBACK PREPARED
	// (or the marker was garbage-collected too early): this participant
	// lost work the coordinators decided to commit. Repair the data by hand.
	ErrHeuristicRollback = fmt.Errorf("%w: heuristic rollback: the prepared transaction was rolled back outside Arbiter (ROLLBACK PREPARED by hand?) although the decision is COMMIT; repair this participant's data by hand", participant.ErrNotPrepared)
	// ErrHeuristicCommit: Abort found the transaction's marker row committed.
	// Something outside Arbiter ran COMMIT PREPARED although the decision is
	// ABORT. Repair the data by hand.
	ErrHeuristicCommit = fmt.Errorf("%w: heuristic commit: the prepared transaction was committed outside Arbiter (COMMIT PREPARED by hand?) although the decision is ABORT; repair this participant's data by hand", participant.ErrAlreadyCommitted)
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
