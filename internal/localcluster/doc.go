// Package localcluster starts and controls a local Arbiter cluster made of real
// processes: three coordinator nodes (arbiter serve) and bank participant
// services, each with its own data directory and log file, on loopback
// ports. The demo, the benchmark and the fault-injection suite build on it.
package localcluster
