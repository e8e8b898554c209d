package coordinator

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
)

// Config tunes a coordinator node. Start from DefaultConfig.
type Config struct {
	// Members maps every coordinator's Raft server ID to its gRPC address,
	// so followers can forward calls to the leader. New copies it; members
	// added later through Admin.AddMember are learnt at runtime.
	Members map[string]string
	// DefaultTimeout is a transaction's lifetime when Begin asks for none.
	DefaultTimeout time.Duration
	// MinTimeout is the shortest lifetime Begin (or a one-shot Commit)
	// accepts. A deadline must leave room for BEGIN to reach the Raft log,
	// a prepare round trip and the DECIDE entry; one shorter than that
	// only aborts, and costs log entries and a presumed abort on the way.
	MinTimeout time.Duration
	// MaxTimeout is the longest lifetime Begin accepts.
	MaxTimeout time.Duration
	// UniquenessWindow is how long a decided transaction is remembered
	// after it finished (so it is never decided again), and the oldest a
	// one-shot ID may be (by the creation time it carries, see client.NewTxID):
	// an older one is refused. Participants learn it at Register and keep
	// their outcome records at least as long. It must exceed MaxTimeout;
	// the margin covers clock skew between coordinators and clients.
	UniquenessWindow time.Duration
	// MaxPayloadBytes bounds one branch's payload.
	MaxPayloadBytes int
	// MaxBranches bounds the participants of one transaction.
	MaxBranches int
	// MaxInFlight bounds the undecided transactions on the leader: past it
	// Begin fails with RESOURCE_EXHAUSTED. 0 means no limit.
	MaxInFlight int
	// MaxMessageBytes is the largest gRPC message the node's server accepts
	// (grpc.MaxRecvMsgSize, see ServerOptions).
	MaxMessageBytes int
	// RPCTimeout bounds one call to a participant or a forwarded call.
	RPCTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between phase-2 attempts.
	RetryMin, RetryMax time.Duration
	// ScanInterval is how often the leader looks for undecided transactions
	// past their deadline and decided ones without a phase-2 driver.
	ScanInterval time.Duration
	// CatchUpTimeout bounds one attempt of a new leader's catch-up barrier
	// (every earlier entry applied before it leads). A failed attempt is
	// retried for as long as Raft says this node leads (leader.go).
	CatchUpTimeout time.Duration
	// ProbeInterval is how often every node health-checks each registered
	// participant (health.go); ProbeTimeout bounds one check and should be
	// well under the Raft election timeout; ProbeFailures consecutive
	// timeouts mark a participant down (a refused connection or a health
	// answer NOT_SERVING does at once). While down, a Prepare to it is
	// answered at once (prepare.go).
	ProbeInterval, ProbeTimeout time.Duration
	ProbeFailures               int
	// TransferRounds is in how many consecutive rounds a leader must have
	// reached fewer registered participants than some follower, both probed
	// afresh, before it hands leadership to the best one (reach.go); 0
	// never transfers. A round starts when a participant goes down in the
	// leader's view and then every probe period while one is; a participant
	// is down only after ProbeFailures consecutive timeouts (or a refusal,
	// or NOT_SERVING), which is what makes a cut sustained. Default 1.
	// TransferCooldown is the least time between two transfers this node
	// starts.
	TransferRounds   int
	TransferCooldown time.Duration
	// FinishBatch and FinishDelay bound how many finished transactions are
	// recorded in one Raft entry and how long one waits for company.
	FinishBatch int
	FinishDelay time.Duration
	// DialOptions are used for connections to participants and to peers.
	DialOptions []grpc.DialOption
	// Metrics, when set, records Prometheus metrics (see NewMetrics).
	Metrics *Metrics
	// HistoryCapacity is how many transactions this node, as leader, keeps
	// an in-memory history of (votes, acknowledgements, retries, a
	// timeline; Admin.TraceTx, `arbiter tx show`); the oldest is evicted
	// first. 0 turns the history off.
	HistoryCapacity int
	// WatchBuffer is how many responses (of up to WatchBatch decisions
	// each) one Watch stream may have waiting for its client. A watcher
	// whose buffer stays full for WatchStall is cut off (RESOURCE_EXHAUSTED
	// naming where to resume), so a slow or stalled watcher holds at most
	// this much memory (plus gRPC's flow-control window) and never slows
	// the node.
	WatchBuffer int
	// WatchStall is how long a Watch's buffer may stay full before the
	// watcher is cut off.
	WatchStall time.Duration
	// WatchBatch is the most decisions one Watch response carries.
	WatchBatch int
	// Now is the clock histories, FINISH entries and the uniqueness window
	// read; nil means time.Now.
	Now func() time.Time

	// Fault injection, for tests and the fault suite only (faults.go
	// documents both and holds everything they do).

	// Failpoint, when set, pauses or kills the node at a named crash
	// point: see faults.go.
	Failpoint func(p failpoint.Point, txID string)
	// Broken deliberately breaks the protocol: see faults.go. Never set in
	// production.
	Broken BrokenMode
}

// DefaultConfig returns settings suited to a cluster on one network.
func DefaultConfig() Config {
	return Config{
		DefaultTimeout:   5 * time.Second,
		MinTimeout:       50 * time.Millisecond, // a few fsynced Raft rounds and a LAN prepare round trip, with room for load
		MaxTimeout:       10 * time.Minute,
		UniquenessWindow: 15 * time.Minute,
		MaxPayloadBytes:  1 << 20,
		MaxBranches:      64,
		MaxInFlight:      10000,
		MaxMessageBytes:  8 << 20,
		RPCTimeout:       2 * time.Second,
		RetryMin:         20 * time.Millisecond,
		RetryMax:         time.Second,
		ScanInterval:     200 * time.Millisecond,
		CatchUpTimeout:   10 * time.Second,
		ProbeInterval:    250 * time.Millisecond,
		ProbeTimeout:     200 * time.Millisecond,
		ProbeFailures:    3,
		TransferRounds:   1,
		TransferCooldown: 10 * time.Second,
		FinishBatch:      256,
		FinishDelay:      50 * time.Millisecond,
		HistoryCapacity:  10000,
		WatchBuffer:      64,
		WatchBatch:       128,
		WatchStall:       5 * time.Second,
	}
}

// Validate checks every field and the rules that tie fields together, and
// reports every setting that cannot work, each naming its field and the
// fix.
func (c Config) Validate() error {
	var errs fieldErrors
	c.validateTimes(&errs)
	c.validateLimits(&errs)
	c.validateFaults(&errs)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("coordinator: invalid config: %w", err)
	}
	return nil
}

// validateTimes checks the durations.
func (c Config) validateTimes(errs *fieldErrors) {
	if c.MinTimeout <= 0 {
		errs.add("MinTimeout %v must be positive", c.MinTimeout)
	}
	if c.DefaultTimeout < c.MinTimeout {
		errs.add("DefaultTimeout %v must be at least MinTimeout %v", c.DefaultTimeout, c.MinTimeout)
	}
	if c.MaxTimeout < c.DefaultTimeout {
		errs.add("MaxTimeout %v must be at least DefaultTimeout %v", c.MaxTimeout, c.DefaultTimeout)
	}
	if c.UniquenessWindow <= c.MaxTimeout {
		errs.add("UniquenessWindow (%v) must exceed MaxTimeout (%v): a transaction must be remembered longer than it can run", c.UniquenessWindow, c.MaxTimeout)
	}
	if c.RPCTimeout <= 0 {
		errs.add("RPCTimeout %v must be positive", c.RPCTimeout)
	}
	if c.RetryMin <= 0 {
		errs.add("RetryMin %v must be positive", c.RetryMin)
	}
	if c.RetryMax < c.RetryMin {
		errs.add("RetryMax %v must be at least RetryMin %v", c.RetryMax, c.RetryMin)
	}
	if c.ScanInterval <= 0 {
		errs.add("ScanInterval %v must be positive", c.ScanInterval)
	}
	if c.CatchUpTimeout <= 0 {
		errs.add("CatchUpTimeout %v must be positive", c.CatchUpTimeout)
	}
	if c.ProbeInterval <= 0 || c.ProbeTimeout <= 0 {
		errs.add("ProbeInterval %v and ProbeTimeout %v must be positive", c.ProbeInterval, c.ProbeTimeout)
	}
	if c.ProbeFailures < 1 {
		errs.add("ProbeFailures %d must be at least 1", c.ProbeFailures)
	}
	if c.TransferRounds < 0 || c.TransferCooldown < 0 {
		errs.add("TransferRounds %d and TransferCooldown %v must not be negative (TransferRounds 0: never transfer)", c.TransferRounds, c.TransferCooldown)
	}
	if c.FinishDelay < 0 {
		errs.add("FinishDelay %v must not be negative (0: record each FINISH batch without waiting)", c.FinishDelay)
	}
}

// validateLimits checks the sizes and counts.
func (c Config) validateLimits(errs *fieldErrors) {
	if c.MaxPayloadBytes <= 0 {
		errs.add("MaxPayloadBytes %d must be positive", c.MaxPayloadBytes)
	}
	if c.MaxBranches <= 0 {
		errs.add("MaxBranches %d must be positive", c.MaxBranches)
	}
	if c.MaxInFlight < 0 {
		errs.add("MaxInFlight %d must not be negative (0: no limit)", c.MaxInFlight)
	}
	if c.MaxMessageBytes <= 0 {
		errs.add("MaxMessageBytes %d must be positive", c.MaxMessageBytes)
	}
	if c.FinishBatch <= 0 {
		errs.add("FinishBatch %d must be positive", c.FinishBatch)
	}
	if c.WatchBuffer <= 0 || c.WatchBatch <= 0 || c.WatchStall <= 0 {
		errs.add("WatchBuffer %d, WatchBatch %d and WatchStall %v must be positive", c.WatchBuffer, c.WatchBatch, c.WatchStall)
	}
	if c.HistoryCapacity < 0 {
		errs.add("HistoryCapacity %d must not be negative (0: no history)", c.HistoryCapacity)
	}
}

// fieldErrors collects one error per setting that cannot work.
type fieldErrors []error

func (e *fieldErrors) add(format string, args ...any) { *e = append(*e, fmt.Errorf(format, args...)) }

func (c Config) clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}
