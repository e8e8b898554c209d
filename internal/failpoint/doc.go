// Package failpoint names Arbiter's crash points and arms them.
//
// Each crash point is one typed constant (Point): the coordinator and the
// participant SDK call their Config.Failpoint hook with it at the places
// named below, the fault suite (jepsen/runner) arms points by these names,
// and tests compare against them. A process built with -tags failpoints
// (cmd/arbiter, cmd/bank) reads ARBITER_FAILPOINTS, a comma-separated list
// of NAME=PROBABILITY, and kills itself with SIGKILL when execution reaches
// a listed point and a coin with that probability comes up. Production
// builds never arm anything.
package failpoint
