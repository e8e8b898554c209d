// Package client is the Go SDK an orchestrating service uses to run
// transactions on an Arbiter cluster: Begin, Commit (with branches for
// coordinator-driven participants, or none when the services enlisted
// themselves), Abort and Status. It carries the transaction ID across gRPC
// calls (WithTxID and the interceptors) and retries every call, which is
// idempotent by transaction ID, on another node when a node is unavailable,
// is not the leader, or the outcome of a call is unknown.
package client
