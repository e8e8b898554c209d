package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Begin chooses the ID and the deadline on the leader, then records BEGIN.
func (c *Coordinator) Begin(ctx context.Context, req *arbiterpb.BeginRequest) (*arbiterpb.BeginResponse, error) {
	timeout, err := c.validateBegin(req)
	if err != nil {
		return nil, toStatus(err)
	}
	if c.leader() == nil {
		resp, err := forward[arbiterpb.BeginRequest, arbiterpb.BeginResponse](ctx, c, arbiterpb.Coordinator_Begin_FullMethodName, req)
		return resp, toStatus(err)
	}
	if err := c.admit(); err != nil {
		return nil, toStatus(err)
	}
	cmd := &arbiterpb.BeginCommand{
		TxId:              c.newTxID(),
		DeadlineUnixNanos: time.Now().Add(timeout).UnixNano(),
		ClientId:          req.GetClientId(),
	}
	if _, err := c.apply(ctx, arbiterpb.CommandType_COMMAND_TYPE_BEGIN, cmd); err != nil {
		return nil, toStatus(err)
	}
	return &arbiterpb.BeginResponse{TxId: cmd.TxId, DeadlineUnixNanos: cmd.DeadlineUnixNanos}, nil
}

// Abort decides ABORT unless a decision exists, and returns the decision.
// A STAGING record (parallel or one-phase commit) is settled first: it may
// have committed, and the Abort answers what it settled to.
// An ID without a record is aborted through a run (abortUnrecorded), so a
// one-shot run of the same ID is joined rather than raced, and the ABORT is
// written so that no later run can commit it.
func (c *Coordinator) Abort(ctx context.Context, req *arbiterpb.AbortRequest) (*arbiterpb.AbortResponse, error) {
	if err := validID("tx_id", req.GetTxId()); err != nil {
		return nil, toStatus(err)
	}
	if rec, ok := c.node.FSM().Get(req.GetTxId()); ok && outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return &arbiterpb.AbortResponse{Outcome: outcomeOf(rec)}, nil
	}
	ls := c.leader()
	if ls == nil {
		resp, err := forward[arbiterpb.AbortRequest, arbiterpb.AbortResponse](ctx, c, arbiterpb.Coordinator_Abort_FullMethodName, req)
		return resp, toStatus(err)
	}
	rec, ok := c.node.FSM().Get(req.GetTxId())
	if !ok {
		out, err := c.abortUnrecorded(ctx, ls, req.GetTxId(), nil, "aborted by the client before any record")
		if err != nil {
			return nil, toStatus(err)
		}
		return &arbiterpb.AbortResponse{Outcome: out}, nil
	}
	if rec = c.settled(rec); outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return &arbiterpb.AbortResponse{Outcome: outcomeOf(rec)}, nil
	}
	if rec.GetState() != arbiterpb.TxState_TX_STATE_STAGING {
		out, parts, err := c.decide(ctx, rec.GetTxId(), arbiterpb.Outcome_OUTCOME_ABORT, rec.GetParticipants(), "aborted by the client")
		if !errors.Is(err, raftlog.ErrStaging) { // else staged since it was read
			if err != nil {
				return nil, toStatus(err)
			}
			c.startPhase2(ls, rec.GetTxId(), out, parts)
			return &arbiterpb.AbortResponse{Outcome: out}, nil
		}
	}
	// A STAGING record may have committed (every participant voted yes):
	// its run, or a recovery that asks every participant, settles it, and
	// the Abort answers what was settled.
	rec, err := c.awaitStaging(ctx, ls, rec)
	if err != nil {
		return nil, toStatus(err)
	}
	return &arbiterpb.AbortResponse{Outcome: outcomeOf(rec)}, nil
}

// Status reports a transaction. A record that exists is final enough to be
// reported by any node; "unknown" is only said by a leader that has
// confirmed its leadership.
func (c *Coordinator) Status(ctx context.Context, req *arbiterpb.StatusRequest) (*arbiterpb.StatusResponse, error) {
	if err := validID("tx_id", req.GetTxId()); err != nil {
		return nil, toStatus(err)
	}
	if rec, ok := c.node.FSM().Get(req.GetTxId()); ok && outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return &arbiterpb.StatusResponse{Tx: txInfo(rec)}, nil
	}
	if c.leader() == nil {
		resp, err := forward[arbiterpb.StatusRequest, arbiterpb.StatusResponse](ctx, c, arbiterpb.Coordinator_Status_FullMethodName, req)
		return resp, toStatus(err)
	}
	if err := c.node.VerifyLeader(ctx); err != nil {
		return nil, toStatus(err)
	}
	rec, ok := c.node.FSM().Get(req.GetTxId())
	if !ok {
		return nil, toStatus(unknownTx(req.GetTxId()))
	}
	if rec = c.settled(rec); rec.GetState() == arbiterpb.TxState_TX_STATE_STAGING {
		var err error
		if rec, err = c.awaitStaging(ctx, c.leader(), rec); err != nil {
			return nil, toStatus(err)
		}
	}
	return &arbiterpb.StatusResponse{Tx: txInfo(rec)}, nil
}

// Register records a participant's address in the replicated table.
func (c *Coordinator) Register(ctx context.Context, req *arbiterpb.RegisterRequest) (*arbiterpb.RegisterResponse, error) {
	if err := validateRegister(req); err != nil {
		return nil, toStatus(err)
	}
	registered := &arbiterpb.RegisterResponse{UniquenessWindowMillis: c.cfg.UniquenessWindow.Milliseconds()}
	if addr, ok := c.node.FSM().Participant(req.GetParticipantId()); ok && addr == req.GetAddress() {
		return registered, nil
	}
	if c.leader() == nil {
		resp, err := forward[arbiterpb.RegisterRequest, arbiterpb.RegisterResponse](ctx, c, arbiterpb.Coordinator_Register_FullMethodName, req)
		return resp, toStatus(err)
	}
	cmd := &arbiterpb.RegisterCommand{ParticipantId: req.GetParticipantId(), Address: req.GetAddress()}
	if _, err := c.apply(ctx, arbiterpb.CommandType_COMMAND_TYPE_REGISTER, cmd); err != nil {
		return nil, toStatus(err)
	}
	return registered, nil
}

// Enlist adds a participant to an undecided transaction whose commit has
// not started. The leader refuses it while a run is in progress; the FSM
// refuses it once the set is staged (parallel), and refuses a COMMIT that
// does not carry the newcomer's vote (standard): a run whose decision lost
// that race prepares the newcomer and decides again.
func (c *Coordinator) Enlist(ctx context.Context, req *arbiterpb.EnlistRequest) (*arbiterpb.EnlistResponse, error) {
	if err := errors.Join(validID("tx_id", req.GetTxId()), validID("participant_id", req.GetParticipantId())); err != nil {
		return nil, toStatus(err)
	}
	if c.leader() == nil {
		resp, err := forward[arbiterpb.EnlistRequest, arbiterpb.EnlistResponse](ctx, c, arbiterpb.Coordinator_Enlist_FullMethodName, req)
		return resp, toStatus(err)
	}
	if _, ok := c.node.FSM().Participant(req.GetParticipantId()); !ok {
		return nil, toStatus(fmt.Errorf("%w: %q must register before it enlists", ErrUnknownParticipant, req.GetParticipantId()))
	}
	if c.running(req.GetTxId()) {
		return nil, toStatus(committingWithout(req.GetTxId()))
	}
	if err := c.enlistFits(req.GetTxId(), req.GetParticipantId()); err != nil {
		return nil, toStatus(err)
	}
	cmd := &arbiterpb.EnlistCommand{TxId: req.GetTxId(), ParticipantId: req.GetParticipantId()}
	res, err := c.apply(ctx, arbiterpb.CommandType_COMMAND_TYPE_ENLIST, cmd)
	if err != nil {
		return nil, toStatus(enlistErr(req.GetTxId(), res, err))
	}
	return &arbiterpb.EnlistResponse{DeadlineUnixNanos: res.Tx.GetDeadlineUnixNanos()}, nil
}

// enlistFits refuses an enlistment that would take the transaction past
// MaxBranches participants, so the service learns it now rather than from a
// Commit refused later (Commit checks again: two enlistments may race).
func (c *Coordinator) enlistFits(txID, participant string) error {
	rec, ok := c.node.FSM().Get(txID)
	if !ok || slices.Contains(rec.GetParticipants(), participant) || len(rec.GetParticipants()) < c.cfg.MaxBranches {
		return nil
	}
	return fmt.Errorf("%w: transaction %s already has %d participants, the limit (--max-branches); roll back the local work",
		ErrInvalid, txID, len(rec.GetParticipants()))
}

func enlistErr(txID string, res raftlog.Result, err error) error {
	switch {
	case errors.Is(err, raftlog.ErrUnknownTx):
		return unknownTx(txID)
	case errors.Is(err, raftlog.ErrNotActive):
		return fmt.Errorf("%w: transaction %s was decided (%v); roll back the local work", ErrDecided, txID, outcomeOf(res.Tx))
	case errors.Is(err, raftlog.ErrCommitting):
		return committingWithout(txID)
	}
	return err
}

// committingWithout is Enlist's answer once a commit has started: the
// participant set is closed (rule 2).
func committingWithout(txID string) error {
	return fmt.Errorf("%w: transaction %s is committing without you: its participant set is closed; roll back your local work (enlist before the client calls Commit)", ErrCommitStarted, txID)
}

func unknownTx(txID string) error {
	return fmt.Errorf("%w: %s: begin a transaction first (or it finished long ago and was forgotten)", ErrUnknownTx, txID)
}

func txInfo(rec *arbiterpb.TxRecord) *arbiterpb.TxInfo {
	return &arbiterpb.TxInfo{
		TxId:              rec.GetTxId(),
		State:             rec.GetState(),
		DeadlineUnixNanos: rec.GetDeadlineUnixNanos(),
		Participants:      rec.GetParticipants(),
		Finished:          rec.GetFinished(),
		DecidedIndex:      rec.GetDecidedIndex(),
		ClientId:          rec.GetClientId(),
	}
}
