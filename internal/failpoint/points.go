package failpoint

import (
	"fmt"
	"slices"
)

// CoordinatorPoints are the crash points a coordinator reaches
// (coordinator.Config.Failpoint): "before-decide" (every vote is in, no
// decision proposed), "after-decide" (the decision is applied, phase 2 not
// started), "phase2-mid" (one participant acknowledged).
func CoordinatorPoints() []string {
	return []string{"before-decide", "after-decide", "phase2-mid"}
}

// ParticipantPoints are the crash points a participant reaches
// (participant.Config.Failpoint): "prepare-before-durable" and
// "prepare-after-durable" around its local prepare, "vote-after-send" just
// after a yes vote left, "commit-before-apply" and "commit-after-apply"
// around applying a COMMIT, and "do-after-enlist" in a service-driven
// Agent.Do between a successful Enlist and the local prepare (the
// coordinators know the participant; it holds nothing durable).
func ParticipantPoints() []string {
	return []string{"prepare-before-durable", "prepare-after-durable", "vote-after-send",
		"commit-before-apply", "commit-after-apply", "do-after-enlist"}
}

// Unarmed is a name no process reaches: "none=0" arms nothing.
const Unarmed = "none"

// CheckNames parses spec and refuses a name that is not in known (nor
// Unarmed): a misspelt crash point would otherwise arm nothing, silently.
func CheckNames(spec string, known []string) error {
	prob, err := Parse(spec)
	if err != nil {
		return err
	}
	for name := range prob {
		if name != Unarmed && !slices.Contains(known, name) {
			return fmt.Errorf("crash point %q: want one of %v (or %s=0)", name, known, Unarmed)
		}
	}
	return nil
}
