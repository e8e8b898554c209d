package coordinator

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

const maxIDLen = 128

// validID checks a transaction or participant ID.
func validID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, kind)
	}
	if len(id) > maxIDLen || !utf8.ValidString(id) {
		return fmt.Errorf("%w: %s must be valid UTF-8 of at most %d bytes", ErrInvalid, kind, maxIDLen)
	}
	if i := strings.IndexFunc(id, unicode.IsControl); i >= 0 {
		return fmt.Errorf("%w: %s has a control character (%U) at byte %d: use printable characters (databases such as PostgreSQL refuse NUL)", ErrInvalid, kind, []rune(id[i:])[0], i)
	}
	return nil
}

func (c *Coordinator) validateBegin(req *arbiterpb.BeginRequest) (time.Duration, error) {
	return c.validateTimeout(req.GetTimeoutMillis())
}

// validateTimeout checks a transaction timeout in milliseconds (0: default).
func (c *Coordinator) validateTimeout(ms int64) (time.Duration, error) {
	switch {
	case ms < 0:
		return 0, fmt.Errorf("%w: timeout_millis %d puts the deadline in the past; pass 0 for the default (%v) or a positive value", ErrInvalid, ms, c.cfg.DefaultTimeout)
	case ms == 0:
		return c.cfg.DefaultTimeout, nil
	}
	if ms > c.cfg.MaxTimeout.Milliseconds() { // compared before converting: a huge value would overflow
		return 0, fmt.Errorf("%w: timeout_millis %d exceeds the maximum of %v", ErrInvalid, ms, c.cfg.MaxTimeout)
	}
	if ms < c.cfg.MinTimeout.Milliseconds() {
		return 0, fmt.Errorf("%w: timeout_millis %d is under the minimum of %v (--min-timeout): the transaction would abort before its participants could prepare; pass at least %d, or 0 for the default (%v)",
			ErrInvalid, ms, c.cfg.MinTimeout, c.cfg.MinTimeout.Milliseconds(), c.cfg.DefaultTimeout)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// validateCommit checks a Commit request, everything that can be checked
// without the transaction table, and returns the lifetime of a one-shot
// transaction (a request without tx_id, or with one_shot); 0 otherwise.
func (c *Coordinator) validateCommit(req *arbiterpb.CommitRequest) (time.Duration, error) {
	switch {
	case req.GetTxId() == "" && len(req.GetBranches()) == 0:
		return 0, fmt.Errorf("%w: tx_id is empty: pass the ID from Begin, or branches for a one-shot Commit", ErrInvalid)
	case req.GetTxId() != "":
		if err := validID("tx_id", req.GetTxId()); err != nil {
			return 0, err
		}
	}
	if req.GetOneShot() && len(req.GetBranches()) == 0 {
		return 0, fmt.Errorf("%w: a one-shot Commit needs at least one branch", ErrInvalid)
	}
	var timeout time.Duration
	if req.GetTxId() == "" || req.GetOneShot() {
		var err error
		if timeout, err = c.validateTimeout(req.GetTimeoutMillis()); err != nil {
			return 0, err
		}
	}
	if _, ok := arbiterpb.CommitMode_name[int32(req.GetMode())]; !ok {
		return 0, fmt.Errorf("%w: mode %d is not a CommitMode: use COMMIT_MODE_STANDARD or COMMIT_MODE_PARALLEL", ErrInvalid, req.GetMode())
	}
	return timeout, c.validateBranches(req.GetBranches())
}

// validateBranches checks a Commit's branches against the limits.
func (c *Coordinator) validateBranches(branches []*arbiterpb.Branch) error {
	if n := len(branches); n > c.cfg.MaxBranches {
		return fmt.Errorf("%w: %d branches exceeds the limit of %d", ErrInvalid, n, c.cfg.MaxBranches)
	}
	seen := make(map[string]bool, len(branches))
	for i, b := range branches {
		if err := validID(fmt.Sprintf("branches[%d].participant_id", i), b.GetParticipantId()); err != nil {
			return err
		}
		if seen[b.GetParticipantId()] {
			return fmt.Errorf("%w: participant %q appears in two branches; merge them into one payload", ErrInvalid, b.GetParticipantId())
		}
		seen[b.GetParticipantId()] = true
		if n := len(b.GetPayload()); n > c.cfg.MaxPayloadBytes {
			return fmt.Errorf("%w: branches[%d] payload is %d bytes, over the limit of %d", ErrInvalid, i, n, c.cfg.MaxPayloadBytes)
		}
	}
	return nil
}

func validateRegister(req *arbiterpb.RegisterRequest) error {
	if err := validID("participant_id", req.GetParticipantId()); err != nil {
		return err
	}
	if req.GetAddress() == "" || len(req.GetAddress()) > 256 {
		return fmt.Errorf("%w: address must be a host:port of at most 256 bytes", ErrInvalid)
	}
	return nil
}

// checkRegistered runs on the leader, whose table is current.
func (c *Coordinator) checkRegistered(branches []*arbiterpb.Branch) error {
	for _, b := range branches {
		if _, ok := c.node.FSM().Participant(b.GetParticipantId()); !ok {
			return fmt.Errorf("%w: %q has not registered with the coordinator; start its agent first", ErrUnknownParticipant, b.GetParticipantId())
		}
	}
	return nil
}
