package coordinator

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// decide proposes a decision through Raft and returns the outcome that was
// applied, which is an earlier decision if one exists (write-once), and the
// participants it applies to. An ABORT through decide is presumed (no vote
// or refusal behind it): it fails with raftlog.ErrStaging on a STAGING
// record.
func (c *Coordinator) decide(ctx context.Context, txID string, want arbiterpb.Outcome, parts []string, reason string) (arbiterpb.Outcome, []string, error) {
	return c.decideCmd(ctx, &arbiterpb.DecideCommand{
		TxId: txID, Outcome: want, Participants: parts, Reason: reason,
		Presumed: want == arbiterpb.Outcome_OUTCOME_ABORT,
	})
}

// decideCmd proposes cmd; see decide.
func (c *Coordinator) decideCmd(ctx context.Context, cmd *arbiterpb.DecideCommand) (arbiterpb.Outcome, []string, error) {
	res, err := c.node.Apply(ctx, arbiterpb.CommandType_COMMAND_TYPE_DECIDE, cmd)
	if err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, nil, err
	}
	if res.Err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN, nil, fmt.Errorf("decide %s: %w", cmd.GetTxId(), res.Err)
	}
	out := outcomeOf(res.Tx)
	if out == arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return out, nil, fmt.Errorf("decide %s: applied record has no decision", cmd.GetTxId())
	}
	if !res.AlreadyDecided {
		c.cfg.Metrics.decided(out)
		c.history.Decided(cmd.GetTxId(), out, res.Tx.GetDecidedIndex())
	}
	return out, res.Tx.GetParticipants(), nil
}

// decideAndFinish proposes the decision over the run's votes, records it in
// r and starts phase 2. A COMMIT names the yes voters and lists the
// read-only ones; an ABORT names every participant that may have prepared.
// The error is the proposal's: r is left unanswered.
func (c *Coordinator) decideAndFinish(ls *leaderState, r *run, want arbiterpb.Outcome, why string, presumed bool) error {
	decideStart := time.Now()
	cmd := &arbiterpb.DecideCommand{TxId: r.txID, Outcome: want, Participants: r.writers(), Reason: why,
		Presumed: presumed && want == arbiterpb.Outcome_OUTCOME_ABORT}
	if want == arbiterpb.Outcome_OUTCOME_COMMIT {
		cmd.ReadOnly = without(r.parts, cmd.Participants)
	}
	if r.oneShot {
		cmd.CreateDeadlineUnixNanos, cmd.CreateClientId = r.deadline, r.clientID
	}
	out, applied, err := c.decideCmd(ls.ctx, c.breakUnvoted(cmd))
	c.cfg.Metrics.observe("decide", decideStart)
	if err != nil {
		return err
	}
	if r.out == arbiterpb.Outcome_OUTCOME_UNKNOWN {
		r.out, r.why = out, why
		if out != want {
			r.why = "decided earlier by another path"
		}
	}
	c.log.Debug("decided", zap.String("tx-id", r.txID), zap.Stringer("outcome", out), zap.String("reason", r.why))
	c.cfg.failpoint(failpoint.AfterDecide, r.txID)
	out = c.breakPhase2(ls, r.txID, out, cmd.Participants)
	c.startPhase2(ls, r.txID, out, applied)
	return nil
}

// apply proposes a command and turns a domain error into a Go error.
func (c *Coordinator) apply(ctx context.Context, t arbiterpb.CommandType, m proto.Message) (raftlog.Result, error) {
	res, err := c.node.Apply(ctx, t, m)
	if err != nil {
		return res, err
	}
	return res, res.Err
}
