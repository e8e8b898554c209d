// Package coordinator is Arbiter's two-phase-commit engine and its gRPC
// Coordinator service.
//
// The leader of the Raft cluster (package raftlog) runs every transaction:
// it chooses IDs and deadlines, sends Prepare to the participants in
// parallel, proposes the decision through Raft, answers the client once the
// decision is applied, and drives phase 2 until every participant has
// acknowledged, after which it records the transaction as finished. Followers
// forward the calls that need the leader. A new leader resumes phase 2 of
// every decided-but-unfinished transaction and aborts undecided ones whose
// deadline has passed. See DESIGN.md for the decisions behind this.
package coordinator
