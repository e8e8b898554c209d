// Command arbiter runs an Arbiter coordinator node (arbiter serve) and
// talks to a running cluster (arbiter status, arbiter tx list).
package main
