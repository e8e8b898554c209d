// Package check decides whether a fault-injection run kept Arbiter's
// invariants (DESIGN.md, "Invariants"). Each checker reads a history.Run and
// returns a Result: pass or fail, how many items it examined, and a short
// list of concrete evidence (transaction IDs, nodes, values) for a human.
//
// The checkers are pure functions of the run: no clock, no IO (except
// LinearizabilityHTML, which writes porcupine's visualization), and a
// deterministic order of evidence, so the same history always gives the
// same report.
package check
