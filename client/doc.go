// Package client is the Go SDK an orchestrating service uses to run
// transactions on an Arbiter cluster: Begin, Commit (with branches for
// coordinator-driven participants, or none when the services enlisted
// themselves), Abort and Status. It carries the transaction ID across gRPC
// calls (WithTxID and the interceptors) and retries every call, which is
// idempotent by transaction ID, on another node when a node is unavailable,
// is not the leader, or the outcome of a call is unknown. A node that does
// not lead names the leader's address in its answer; the client dials it and
// sends later calls there first.
//
// Connections use mutual TLS (Config.DialOptions from TLSDialOptions).
// Plaintext must be asked for with Config.Insecure: New refuses a Config
// that sets neither.
package client
