package coordinator

import (
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Everything in this file exists only to break or pause the protocol on
// purpose, so that the fault suite can show its checkers catch what it
// breaks. None of it runs unless Config.Broken is set.

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
