// Package runner runs one fault-injection test: it starts a real process
// cluster (optionally in network namespaces), drives a workload while a
// nemesis injects faults on a schedule, heals everything, waits for
// recovery, collects the final state of every process, checks the
// invariants and writes a report.
package runner
