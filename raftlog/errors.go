package raftlog

import "errors"

// Errors returned by this package. Node errors are returned by Node methods;
// domain outcomes are carried in Result.Err by the FSM and are final facts of
// the replicated state, never failures of the log itself.
var (
	// ErrNotLeader means this node is not the Raft leader: forward the
	// request to Node.Leader() or retry after the next election.
	ErrNotLeader = errors.New("raftlog: not the leader: forward to the leader or retry")
	// ErrOutcomeUnknown means the command was submitted but this node cannot
	// tell whether it was committed (leadership lost, timeout, context done):
	// retry by transaction ID, every command is idempotent by ID.
	ErrOutcomeUnknown = errors.New("raftlog: outcome unknown: retry by transaction ID")
	// ErrClosed means the node was closed (or Raft shut down): reopen it.
	ErrClosed = errors.New("raftlog: node closed")
	// ErrUnknownMember means a membership change named a server ID that is
	// not in the configuration: check the ID (arbiter status lists them).
	ErrUnknownMember = errors.New("raftlog: no such member")
	// ErrSnapshotUnusable means Open found a newest snapshot that does not
	// restore (bad checksum, or content the FSM cannot parse). The node
	// refuses to start rather than fall back to an older snapshot and run
	// on partial state: move the bad snapshot directory out of
	// DATA_DIR/snapshots only if the Raft log still holds every entry after
	// the older snapshot, else rebuild this node's data dir from a healthy
	// replica (remove the member, wipe, re-add).
	ErrSnapshotUnusable = errors.New("raftlog: newest snapshot cannot be restored; refusing to start on partial state")
	// ErrLogStoreMismatch means Open found a Raft log of another kind than
	// Config.LogStore in DataDir. The node refuses to start rather than
	// open a second, empty log beside it: start it with the store the data
	// dir holds (the message names it), or move the data dir away.
	ErrLogStoreMismatch = errors.New("raftlog: data dir holds another raft log store")

	// ErrUnknownTx means there is no record for the transaction: it was never
	// begun, or it finished and was forgotten (presumed abort).
	ErrUnknownTx = errors.New("raftlog: unknown transaction")
	// ErrTxExists means BEGIN named an ID that already has a record: choose a
	// fresh ID, or treat it as a retried BEGIN if Result.Tx matches.
	ErrTxExists = errors.New("raftlog: transaction already exists")
	// ErrNotActive means ENLIST arrived after the decision: the participant
	// must follow the decision in Result.Tx.
	ErrNotActive = errors.New("raftlog: transaction already decided")
	// ErrStaging means a presumed ABORT (no no-vote, no refusal behind it)
	// met a STAGING record, which may already be committed: recover it by
	// asking its participants instead.
	ErrStaging = errors.New("raftlog: transaction is staging (parallel commit): its participants must be asked before it can abort; Commit or Status gives its outcome")
	// ErrUnvoted means a COMMIT (DECIDE or STAGE) left out a participant
	// the record names: that participant never voted yes for this decision
	// (it enlisted while the commit was being decided). Nothing changed:
	// prepare the newcomer and propose again with its vote, or abort.
	ErrUnvoted = errors.New("raftlog: commit refused: the record names a participant that did not vote yes for it")
	// ErrCommitting means ENLIST met a STAGING record: a parallel commit
	// has started with a closed participant set. The enlisting participant
	// must roll back its local work.
	ErrCommitting = errors.New("raftlog: transaction is committing: its participant set is closed")
	// ErrParticipantsDiffer means a STAGE named another participant set
	// than the STAGING record's: a retried parallel commit must name the
	// same branches as the first attempt.
	ErrParticipantsDiffer = errors.New("raftlog: transaction is staged with another participant set")
)
