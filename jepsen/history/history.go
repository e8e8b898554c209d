package history

import "time"

// Op kinds.
const (
	KindTransfer = "transfer" // move money between accounts of two banks
	KindRead     = "read"     // lock and read every account of every bank in one tx
	KindCommit   = "commit"   // status workload: Commit(tx)
	KindAbort    = "abort"    // status workload: Abort(tx)
	KindStatus   = "status"   // status workload: Status(tx)
	KindResolve  = "resolve"  // status workload: Resolve(tx) as a participant outside the tx; Op.Status holds the answer
	KindFinal    = "final"    // the transaction run after the heal
	// KindResolveMember is race workload's Resolve(tx) as a participant
	// the tx names, asked early (before its deadline); Op.Status holds the
	// answer (COMMIT, ABORT or PENDING).
	KindResolveMember = "resolve-member"
	// KindEnlist is race workload's Enlist(tx) as a participant that then
	// never prepares (it dies, or its local prepare fails, first): Op.Status
	// is ENLISTED when it was accepted, and Outcome fail (refused) or
	// unknown (no answer) otherwise. It decides nothing itself.
	KindEnlist = "enlist"
)

// Asks reports whether ops of kind only ask about a tx (status, resolve,
// resolve-member) rather than run or decide it.
func Asks(kind string) bool {
	return kind == KindStatus || kind == KindResolve || kind == KindResolveMember
}

// What an op's answer must be (Op.Expect), for the race workload's ops
// that probe a refusal.
const (
	// ExpectRefused: refused with FAILED_PRECONDITION (a retry naming a
	// participant a COMMIT does not name).
	ExpectRefused = "refused"
	// ExpectNotCommitted: anything but COMMIT (a branch that can never
	// apply: an empty or oversized key; a retry of an aborted tx with
	// other branches).
	ExpectNotCommitted = "not-committed"
	// ExpectRefusedOrRecorded: refused with FAILED_PRECONDITION as older
	// than the uniqueness window, or answered from a record the
	// coordinators still remember; never run again (a one-shot retried
	// past the window).
	ExpectRefusedOrRecorded = "refused-or-recorded"
)

// Outcomes of an operation as the client learned it.
const (
	OutcomeCommit  = "commit"
	OutcomeAbort   = "abort"
	OutcomeUnknown = "unknown" // the client never learned it (timeout, lost answer)
	OutcomeFail    = "fail"    // definitely had no effect (refused before anything was decided)
)

// Delta is one branch's change to one account.
type Delta struct {
	Participant string `json:"participant"`
	Account     string `json:"account"`
	Delta       int64  `json:"delta"`
}

// Op is one client operation. Times are offsets from the run's start.
type Op struct {
	Index        int              `json:"index"`
	Worker       int              `json:"worker"`
	Kind         string           `json:"kind"`
	TxID         string           `json:"tx_id,omitempty"`
	Start        time.Duration    `json:"start"`
	End          time.Duration    `json:"end"`
	Outcome      string           `json:"outcome"`
	Participants []string         `json:"participants,omitempty"`
	Deltas       []Delta          `json:"deltas,omitempty"`
	Read         map[string]int64 `json:"read,omitempty"`   // account -> balance, reads only
	Status       string           `json:"status,omitempty"` // status ops: ACTIVE, COMMITTED, ABORTED, NOT_FOUND; resolve ops: COMMIT, ABORT, PENDING
	Mode         string           `json:"mode,omitempty"`   // coordinator-driven or service-driven
	Node         string           `json:"node,omitempty"`   // status ops sent to one coordinator directly
	Err          string           `json:"err,omitempty"`
	// Case names the race workload's case the op belongs to (bad-key,
	// late-enlist, ...); Expect, if set, what its answer must be (see
	// ExpectRefused and the others).
	Case   string `json:"case,omitempty"`
	Expect string `json:"expect,omitempty"`
	// Attempts counts the client's Commit and Abort calls on the wire for
	// the tx before this op ended (all kinds but status).
	Attempts Attempts `json:"attempts,omitzero"`
}

// Attempts are the gRPC attempts behind one op: Calls in all, Unanswered
// those that ended without an answer (timed out or lost), whose outcome the
// client did not know when it retried by the same tx ID.
type Attempts struct {
	Calls      int `json:"calls,omitempty"`
	Unanswered int `json:"unanswered,omitempty"`
}

// Fault is one nemesis action, from injection to heal.
type Fault struct {
	Kind    string        `json:"kind"`
	Targets []string      `json:"targets"`
	Start   time.Duration `json:"start"`
	End     time.Duration `json:"end"`
	Detail  string        `json:"detail,omitempty"`
}

// Final is what the harness collected after healing every fault, waiting
// for recovery, and stopping the processes.
type Final struct {
	// ParticipantOutcomes: participant -> tx ID -> "commit" | "abort", from
	// each participant's durable store.
	ParticipantOutcomes map[string]map[string]string `json:"participant_outcomes"`
	// Prepared: participant -> tx IDs still prepared (in doubt) when
	// liveness was checked, LivenessWait after the heal.
	Prepared     map[string][]string `json:"prepared"`
	LivenessWait time.Duration       `json:"liveness_wait"`
	// Decisions: coordinator node -> tx ID -> "commit" | "abort", the first
	// decision for each ID in that node's Raft log, replayed offline.
	Decisions map[string]map[string]string `json:"decisions"`
	// LogEvents: coordinator node -> the decision-bearing entries of its
	// Raft log (after its snapshot), decoded by the harness without the FSM,
	// in index order; SnapshotIndex: node -> the index of the snapshot the
	// log continues from (0: none). Uniqueness re-derives the write-once
	// decisions from them.
	LogEvents     map[string][]LogEvent `json:"log_events,omitempty"`
	SnapshotIndex map[string]uint64     `json:"snapshot_index,omitempty"`
	// Committed: coordinator node -> tx ID -> the participants its
	// COMMIT names, for every committed record the node's replayed table
	// still holds (live, or finished and remembered for the uniqueness
	// window); the record of a COMMIT compacted into a snapshot is only
	// here.
	Committed map[string]map[string][]string `json:"committed,omitempty"`
	// LogConflicts lists indexes where two coordinators' logs hold
	// different entries (within the prefix every node has).
	LogConflicts []string `json:"log_conflicts"`
	// Balances: account -> committed balance at the end; Expected is the
	// total money the bank started with, Opening each account's opening
	// balance.
	Balances map[string]int64 `json:"balances"`
	Expected int64            `json:"expected"`
	Opening  int64            `json:"opening"`
	// Events is the events workload's outbox and stream, read at the end
	// (nil for the other workloads).
	Events *EventsFinal `json:"events,omitempty"`
	// FinalTx: did a transaction run after the heal commit?
	FinalTxOK  bool   `json:"final_tx_ok"`
	FinalTxErr string `json:"final_tx_err,omitempty"`
}

// Kinds of LogEvent.
const (
	LogBegin          = "begin"           // BEGIN: creates the record
	LogEnlist         = "enlist"          // ENLIST: adds Participants[0] to the record
	LogStage          = "stage"           // STAGE: parallel commit's STAGING record over Participants
	LogDecide         = "decide"          // DECIDE
	LogImplicitCommit = "implicit-commit" // FINISH naming a STAGING tx committed implicitly
	LogFinish         = "finish"          // FINISH naming a decided tx finished at At
	LogForget         = "forget"          // FINISH's cut: finished records older than ForgetBefore are forgotten (no TxID)
)

// LogEvent is one tx's part of one Raft log entry that can create, change,
// decide, finish or forget it.
type LogEvent struct {
	Index   uint64 `json:"index"`
	Kind    string `json:"kind"`
	TxID    string `json:"tx_id,omitempty"`
	Outcome string `json:"outcome,omitempty"` // decide: "commit" | "abort" | "" (invalid)
	// Participants: enlist's participant, stage's set, decide's set (for
	// COMMIT the yes voters it names); ReadOnly: a COMMIT's read-only
	// voters.
	Participants []string `json:"participants,omitempty"`
	ReadOnly     []string `json:"read_only,omitempty"`
	// Presumed marks an ABORT with no vote behind it (refused for STAGING);
	// Create marks a DECIDE that creates a missing record (one-shot).
	Presumed bool `json:"presumed,omitempty"`
	Create   bool `json:"create,omitempty"`
	// At is a finish's time and ForgetBefore a forget's cut, the leader's
	// clock in unix nanoseconds.
	At           int64 `json:"at,omitempty"`
	ForgetBefore int64 `json:"forget_before,omitempty"`
}

// Run is everything about one run.
type Run struct {
	Name     string        `json:"name"`
	Workload string        `json:"workload"`
	Nemeses  []string      `json:"nemeses"`
	Seed     int64         `json:"seed"`
	Duration time.Duration `json:"duration"`
	// StartedAt is the wall-clock time of offset 0 (ops' and faults' Start
	// and End are offsets from it): to line them up with the node logs.
	StartedAt time.Time `json:"started_at,omitzero"`
	Broken    string    `json:"broken,omitempty"` // a deliberately broken coordinator mode
	// LogStore is the coordinators' --log-store; empty: arbiter serve's default.
	LogStore string `json:"log_store,omitempty"`
	// ClientRetries counts client attempts that got no answer (timeout,
	// node down, not the leader) and were retried by transaction ID.
	ClientRetries int64   `json:"client_retries"`
	Ops           []Op    `json:"ops"`
	Faults        []Fault `json:"faults"`
	Final         Final   `json:"final"`
}

// EventsFinal is what the events workload published.
type EventsFinal struct {
	// Outbox is the outbox participant's ID.
	Outbox string `json:"outbox"`
	// Stream is the message ID (Nats-Msg-Id) of every message the stream
	// holds, in stream order.
	Stream []string `json:"stream"`
	// Pending are the keys of messages still in the outbox's store when it
	// stopped: committed, not yet acknowledged by the broker.
	Pending []string `json:"pending,omitempty"`
}
