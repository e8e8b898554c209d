// Package localcluster starts and controls a local Arbiter cluster made of
// real processes: three coordinator nodes (arbiter serve) and bank
// participant services (cmd/bank), each with its own data directory and log
// file, on loopback ports. The demo (cmd/demo), the benchmark (cmd/bench)
// and the fault-injection suite (jepsen/runner) build on it; it lives under
// internal/ so that the tools that ship import nothing from the suite.
package localcluster
