// Package txhistory is a coordinator node's in-memory history of the
// transactions it ran as leader: per participant its vote, prepare
// attempts, phase-2 acknowledgement, retries and last error, and a bounded
// timeline. It is what `arbiter tx show` (Admin.TraceTx) reports.
//
// A history is diagnostics, not state: never replicated, lost on restart
// and on eviction. It is not OpenTelemetry tracing (internal/tracing).
package txhistory
