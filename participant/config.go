package participant

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/internal/security"
)

// Config configures an Agent. Start from DefaultConfig.
type Config struct {
	// ID is the participant ID registered with the coordinators; branches
	// and enlistments name it. Required.
	ID string
	// Address is the host:port the coordinators dial to reach this agent's
	// gRPC server (where RegisterService was called). Required.
	Address string
	// Coordinators lists coordinator gRPC addresses. Any node will do:
	// followers forward to the leader. At least one is required.
	Coordinators []string
	// ResolveInterval is the recovery timer: how often prepared work past
	// its deadline is resolved with the coordinators. Default 1s.
	ResolveInterval time.Duration
	// RPCTimeout bounds one attempt of a call to a coordinator (Register,
	// Enlist, Resolve: each idempotent, so a timed-out attempt is retried on
	// the next coordinator). Default 1.5s: it is how long a service-driven
	// participant's Enlist waits on a leader it cannot reach (a cut of the
	// participants from the leader alone) before it asks another node,
	// holding its prepared locks meanwhile; at 5s such a cut stalled
	// service-driven transactions for the whole transaction deadline even
	// after leadership had moved (issue 14).
	RPCTimeout time.Duration
	// ProbeInterval is how often the agent health-checks each coordinator
	// (the standard gRPC health check on the connection its calls use),
	// ProbeTimeout bounds one check, and after ProbeFailures consecutive
	// timeouts (of checks or of calls) a coordinator counts as down: calls
	// go to the other coordinators first, and a call waiting on it is
	// moved to the next one at once instead of at RPCTimeout. A refused
	// connection or NOT_SERVING (the node knows no leader) is down at once;
	// any answer brings it back. With one coordinator there is nobody to
	// move to and nothing is probed. Defaults 250ms, 200ms, 3: a
	// coordinator cut from this participant alone (the others still reach
	// it and each other) is left within about a second (issue 14).
	ProbeInterval, ProbeTimeout time.Duration
	ProbeFailures               int
	// FallbackDeadline is the prepared deadline used when a Prepare carries
	// none. It only schedules recovery; it never decides. Default 30s.
	FallbackDeadline time.Duration
	// DialOptions are used to dial the coordinators. Nil means TLS
	// credentials over TLS (plaintext when TLS is nil) plus
	// client.UnaryClientInterceptor; a non-nil list replaces the defaults
	// entirely (it must set credentials).
	DialOptions []grpc.DialOption
	// TLS, when set, is this agent's certificate source (client.LoadTLS):
	// it dials the coordinators with mutual TLS. Serve the agent's gRPC
	// server with agent.ServerOptions(), which adds TLS; whenever a call arrives
	// over TLS, the agent accepts Prepare/Commit/Abort only from coordinator
	// identities and Inspect only from coordinators and admins.
	TLS *security.Source
	// Insecure must be set, with TLS nil, to run without TLS: the agent then
	// dials the coordinators in plaintext and, on a plaintext server,
	// accepts every call from anyone (no identity to check). New logs a
	// warning. Development only. Without it a nil TLS is a config error,
	// and a call that arrives over plaintext is refused (UNAUTHENTICATED).
	Insecure bool
	// MaxMessageBytes is the largest gRPC request the agent's server
	// accepts; install ServerOptions on the server to apply it. A bigger
	// request fails with RESOURCE_EXHAUSTED before any handler runs.
	// Default 8 MiB.
	MaxMessageBytes int
	// OutcomeRetention is how long after its decision an outcome record is
	// kept before it is pruned (with a Resource that implements
	// OutcomePruner). The coordinators' uniqueness window, learnt at
	// Register, is the floor: a shorter value is raised to it (with a
	// warning), a longer one is kept. 0 means the window. With neither a
	// window nor a retention, nothing is pruned.
	OutcomeRetention time.Duration
	// OutcomePruneInterval is how often outcome records past the retention
	// are pruned. 0 disables pruning: every record is kept forever.
	// Default 1 min.
	OutcomePruneInterval time.Duration
	// Failpoint, if not nil, is called at named crash points for fault
	// injection: failpoint.PrepareBeforeDurable, PrepareAfterDurable,
	// CommitBeforeApply, CommitAfterApply, VoteAfterSend and DoAfterEnlist
	// (in Do, between Enlist and the local prepare). The type lives in this
	// module's internal/failpoint: only the module's own tests and fault
	// suite set it.
	Failpoint func(p failpoint.Point)
}

// DefaultConfig returns a Config with every optional field set to its
// default. ID, Address and Coordinators must still be filled in.
func DefaultConfig() Config {
	return Config{
		ResolveInterval:  time.Second,
		RPCTimeout:       1500 * time.Millisecond,
		ProbeInterval:    250 * time.Millisecond,
		ProbeTimeout:     200 * time.Millisecond,
		ProbeFailures:    3,
		FallbackDeadline: 30 * time.Second,
		MaxMessageBytes:  8 << 20,

		OutcomePruneInterval: time.Minute,
	}
}

// Validate checks every field and reports each setting that cannot work,
// naming the field and what would, all joined with errors.Join.
func (c Config) Validate() error {
	var errs fieldErrors
	c.validateIdentity(&errs)
	c.validateTimes(&errs)
	c.validateSecurity(&errs)
	if c.MaxMessageBytes <= 0 {
		errs.add("MaxMessageBytes %d must be positive (default 8 MiB)", c.MaxMessageBytes)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("participant: invalid config: %w", err)
	}
	return nil
}

// validateIdentity checks who this agent is and whom it calls.
func (c Config) validateIdentity(errs *fieldErrors) {
	if c.ID == "" {
		errs.add("ID is required: the participant ID that branches and enlistments name")
	}
	if c.Address == "" {
		errs.add("Address is required: the host:port the coordinators dial to reach this agent")
	}
	if len(c.Coordinators) == 0 {
		errs.add("Coordinators: at least one coordinator address is required (any node will do)")
	}
	for i, addr := range c.Coordinators {
		if addr == "" {
			errs.add("Coordinators[%d] is empty: give a coordinator's host:port or drop the entry", i)
		}
	}
}

// validateTimes checks the durations.
func (c Config) validateTimes(errs *fieldErrors) {
	if c.ResolveInterval <= 0 {
		errs.add("ResolveInterval %v must be positive (default 1s)", c.ResolveInterval)
	}
	if c.RPCTimeout <= 0 {
		errs.add("RPCTimeout %v must be positive (default 1.5s)", c.RPCTimeout)
	}
	if c.ProbeInterval <= 0 || c.ProbeTimeout <= 0 {
		errs.add("ProbeInterval %v and ProbeTimeout %v must be positive (defaults 250ms and 200ms)", c.ProbeInterval, c.ProbeTimeout)
	}
	if c.ProbeFailures < 1 {
		errs.add("ProbeFailures %d must be at least 1 (default 3)", c.ProbeFailures)
	}
	if c.FallbackDeadline <= 0 {
		errs.add("FallbackDeadline %v must be positive (default 30s)", c.FallbackDeadline)
	}
	if c.OutcomeRetention < 0 {
		errs.add("OutcomeRetention %v must not be negative (0: the coordinators' uniqueness window)", c.OutcomeRetention)
	}
	if c.OutcomePruneInterval < 0 {
		errs.add("OutcomePruneInterval %v must not be negative (0: never prune)", c.OutcomePruneInterval)
	}
}

// validateSecurity checks that exactly one of TLS and Insecure is chosen.
func (c Config) validateSecurity(errs *fieldErrors) {
	switch {
	case c.TLS == nil && !c.Insecure:
		errs.add("TLS is nil: set TLS (client.LoadTLS) for mutual TLS, or Insecure to run plaintext with no authentication (development only)")
	case c.TLS != nil && c.Insecure:
		errs.add("TLS and Insecure are mutually exclusive: set TLS for mutual TLS, or Insecure with TLS nil for plaintext")
	}
}

// fieldErrors collects one error per setting that cannot work.
type fieldErrors []error

func (e *fieldErrors) add(format string, args ...any) { *e = append(*e, fmt.Errorf(format, args...)) }

func (c Config) failpoint(p failpoint.Point) {
	if c.Failpoint != nil {
		c.Failpoint(p)
	}
}
