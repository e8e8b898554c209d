package failpoint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Point names a crash point. Its string is the name ARBITER_FAILPOINTS,
// the fault suite's flags and the "failpoint" log field spell.
type Point string

// The coordinator's crash points (coordinator.Config.Failpoint).
const (
	// BeforeDecide: every vote is in, no decision proposed.
	BeforeDecide Point = "before-decide"
	// AfterDecide: the decision is applied, phase 2 not started.
	AfterDecide Point = "after-decide"
	// Phase2Mid: one participant acknowledged the decision.
	Phase2Mid Point = "phase2-mid"
)

// The participant's crash points (participant.Config.Failpoint).
const (
	// PrepareBeforeDurable: just before the local prepare is made durable.
	PrepareBeforeDurable Point = "prepare-before-durable"
	// PrepareAfterDurable: just after the local prepare is durable.
	PrepareAfterDurable Point = "prepare-after-durable"
	// VoteAfterSend: just after a yes vote left.
	VoteAfterSend Point = "vote-after-send"
	// CommitBeforeApply: a COMMIT arrived, not yet applied.
	CommitBeforeApply Point = "commit-before-apply"
	// CommitAfterApply: a COMMIT was applied, not yet acknowledged.
	CommitAfterApply Point = "commit-after-apply"
	// DoAfterEnlist: in a service-driven Agent.Do, between a successful
	// Enlist and the local prepare (the coordinators know the
	// participant; it holds nothing durable).
	DoAfterEnlist Point = "do-after-enlist"
)

// Unarmed is a name no process reaches: "none=0" arms nothing.
const Unarmed Point = "none"

// CoordinatorPoints are the crash points a coordinator reaches.
func CoordinatorPoints() []Point {
	return []Point{BeforeDecide, AfterDecide, Phase2Mid}
}

// ParticipantPoints are the crash points a participant reaches.
func ParticipantPoints() []Point {
	return []Point{PrepareBeforeDurable, PrepareAfterDurable, VoteAfterSend,
		CommitBeforeApply, CommitAfterApply, DoAfterEnlist}
}

// Arm is the ARBITER_FAILPOINTS entry that arms p with probability prob:
// "NAME=PROBABILITY".
func (p Point) Arm(prob float64) string {
	return string(p) + "=" + strconv.FormatFloat(prob, 'f', -1, 64)
}

// Spec joins entries made by Arm into one ARBITER_FAILPOINTS value.
func Spec(entries ...string) string { return strings.Join(entries, ",") }

// CheckNames parses spec and refuses a name that is not in known (nor
// Unarmed): a misspelt crash point would otherwise arm nothing, silently.
func CheckNames(spec string, known []Point) error {
	prob, err := Parse(spec)
	if err != nil {
		return err
	}
	for p := range prob {
		if p != Unarmed && !slices.Contains(known, p) {
			return fmt.Errorf("crash point %q: want one of %v (or %s=0)", p, known, Unarmed)
		}
	}
	return nil
}
