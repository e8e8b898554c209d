// Package history is the record of one fault-injection run: every client
// operation with its invocation and completion times and result, the
// nemesis timeline, and the final state collected from every process after
// the heal. Checkers read it; reports render it.
package history
