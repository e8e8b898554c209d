package coordinator

import (
	"slices"
	"time"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Everything in this file exists only to break or pause the protocol on
// purpose: crash points, so that tests and the fault suite can stop or kill
// a node at a known step, and broken modes, so that the fault suite can show
// its checkers catch what they break. None of it does anything unless
// Config.Failpoint or Config.Broken is set; the binaries set them only when
// built with the failpoints tag.
//
// Config.Failpoint, when set, is called with the transaction ID at each
// coordinator crash point: failpoint.BeforeDecide (every vote is in, no
// decision proposed), failpoint.AfterDecide (the decision is applied,
// phase 2 not started) and failpoint.Phase2Mid (one participant
// acknowledged). It may block (tests pause the node there) or kill the
// process (the fault suite's crash-points nemesis).
//
// Config.Broken deliberately breaks the protocol (one of the BrokenModes
// below) so the fault suite can show that its checkers catch the anomalies.

// failpoint calls Config.Failpoint, if set, at crash point p.
func (c Config) failpoint(p failpoint.Point, txID string) {
	if c.Failpoint != nil {
		c.Failpoint(p, txID)
	}
}

// BrokenEnvVar is the environment variable a coordinator built with the
// failpoints tag reads its BrokenMode from (the fault suite sets it).
const BrokenEnvVar = "ARBITER_BROKEN"

// BrokenMode names a deliberate protocol bug.
type BrokenMode string

const (
	// BrokenNone is the correct protocol.
	BrokenNone BrokenMode = ""
	// BrokenCommitDespiteNo decides COMMIT even when a participant voted no.
	BrokenCommitDespiteNo BrokenMode = "commit-despite-no"
	// BrokenAckBeforeDecide tells the client COMMIT as soon as every vote
	// is yes, and proposes the decision a second later.
	BrokenAckBeforeDecide BrokenMode = "ack-before-decide"
	// BrokenSecondDecision, after a COMMIT decision, proposes an ABORT for
	// the same ID (the FSM ignores it: write-once) and then sends ABORT to
	// the participants anyway, as if the second decision took effect.
	BrokenSecondDecision BrokenMode = "second-decision"
	// BrokenEnlistIntoCommit names in a COMMIT every participant the
	// record names, including one that enlisted while the commit was being
	// decided and never voted (the coordinator's behaviour before the FSM
	// checked votes).
	BrokenEnlistIntoCommit BrokenMode = "enlist-into-commit"
)

// brokenModes are the valid values of Config.Broken.
var brokenModes = []BrokenMode{BrokenNone, BrokenCommitDespiteNo, BrokenAckBeforeDecide, BrokenSecondDecision, BrokenEnlistIntoCommit}

// validateFaults refuses a Broken value that names no broken mode.
func (c Config) validateFaults(errs *fieldErrors) {
	if !slices.Contains(brokenModes, c.Broken) {
		errs.add("Broken %q is not a broken mode: leave it empty (the fault suite's self-tests set %q, %q, %q or %q)",
			c.Broken, BrokenCommitDespiteNo, BrokenAckBeforeDecide, BrokenSecondDecision, BrokenEnlistIntoCommit)
	}
}

// breakDecision applies a deliberately broken mode (fault-suite self-test).
func (c *Coordinator) breakDecision(r *run, want arbiterpb.Outcome) arbiterpb.Outcome {
	switch c.cfg.Broken {
	case BrokenCommitDespiteNo:
		return arbiterpb.Outcome_OUTCOME_COMMIT
	case BrokenAckBeforeDecide:
		if want == arbiterpb.Outcome_OUTCOME_COMMIT {
			r.answerEarly(want)
			time.Sleep(time.Second)
		}
	}
	return want
}

// breakPhase2 applies BrokenSecondDecision (fault-suite self-test): a
// second, opposite DECIDE for a committed tx, then phase 2 with it.
func (c *Coordinator) breakPhase2(ls *leaderState, txID string, out arbiterpb.Outcome, parts []string) arbiterpb.Outcome {
	if c.cfg.Broken != BrokenSecondDecision || out != arbiterpb.Outcome_OUTCOME_COMMIT {
		return out
	}
	_, _, _ = c.decide(ls.ctx, txID, arbiterpb.Outcome_OUTCOME_ABORT, parts, "broken: second decision")
	return arbiterpb.Outcome_OUTCOME_ABORT
}

// breakUnvoted applies BrokenEnlistIntoCommit (fault-suite self-test): the
// COMMIT names every participant the record names, voted or not, as the
// coordinator did before the FSM checked votes.
func (c *Coordinator) breakUnvoted(cmd *arbiterpb.DecideCommand) *arbiterpb.DecideCommand {
	if c.cfg.Broken != BrokenEnlistIntoCommit || cmd.GetOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT {
		return cmd
	}
	rec, _ := c.node.FSM().Get(cmd.GetTxId())
	cmd.Participants = unionSorted(cmd.GetParticipants(), rec.GetParticipants())
	return cmd
}
