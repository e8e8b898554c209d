// Package failpoint implements named crash points for the fault suite: a process
// built with -tags failpoints reads ARBITER_FAILPOINTS, a comma-separated
// list of NAME=PROBABILITY, and kills itself with SIGKILL when execution
// reaches a listed point and a coin with that probability comes up.
package failpoint
