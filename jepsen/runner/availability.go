package runner

import (
	"slices"
	"time"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// AvailabilityGrace is how long after a fault starts the availability
// checker waits before it counts time without a commit: the coordinators'
// election timeout plus their participant probe period (the suite runs
// them with the defaults).
func AvailabilityGrace() time.Duration {
	return raftlog.DefaultConfig().ElectionTimeout + coordinator.DefaultConfig().ProbeInterval
}

// AvailabilityBound is the longest interval without a commit a run of
// partial faults only may show after the grace (issue 14: commits resume
// within 3 s of a cut that leaves a quorum reaching every participant).
const AvailabilityBound = 3 * time.Second

// CheckAvailability measures the run's longest interval without a commit
// while a fault held, and enforces AvailabilityBound on runs whose every
// nemesis is one of PartialNemeses.
func CheckAvailability(run *history.Run) check.Result {
	enforce := len(run.Nemeses) > 0
	for _, n := range run.Nemeses {
		enforce = enforce && slices.Contains(PartialNemeses(), n)
	}
	return check.Availability(run, AvailabilityGrace(), AvailabilityBound, enforce)
}
