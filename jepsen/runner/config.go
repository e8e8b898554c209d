package runner

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/jepsen/netns"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Config is one run.
type Config struct {
	// Name labels the run and its report directory.
	Name string
	// Workload is "bank", "status", "race", "events" or "transfers" (see
	// Workloads).
	Workload string
	// Nemeses are injected in turn, chosen by the seeded generator; empty
	// means no faults.
	Nemeses []string
	// Duration of the workload; Interval between fault starts; Hold is how
	// long a fault lasts (default Interval/2, at least 1.5 s).
	Duration, Interval, Hold time.Duration
	// Concurrency is the number of client workers.
	Concurrency int
	// Seed makes the fault schedule and the workload's choices repeatable.
	Seed int64
	// Accounts per bank, each opened with Opening.
	Accounts int
	Opening  int64
	// Dir receives the data directories and the report.
	Dir string
	// BinDir holds binaries built with -tags failpoints (see Build).
	BinDir string
	// Broken runs a deliberately broken coordinator (see coordinator.BrokenMode).
	Broken string
	// LivenessWait is how long after the heal every prepared transaction
	// must be resolved.
	LivenessWait time.Duration
	// CoordFailpoints and BankFailpoints override the crash points armed
	// by the crash-points nemesis (NAME=PROBABILITY,...; see internal/failpoint).
	CoordFailpoints, BankFailpoints string
	// TxTimeout is the lifetime workers ask for at Begin (default 5 s).
	TxTimeout time.Duration
	// UniquenessWindow, if set, runs the coordinators with
	// --uniqueness-window UniquenessWindow and --max-timeout 2 s shorter
	// (at least TxTimeout and the coordinators' 5 s default lifetime).
	// The race workload defaults it to RaceWindow, so that its one-shots
	// retried past the window are seen within a run; the others keep the
	// coordinators' default (15 min).
	UniquenessWindow time.Duration
	// Postgres runs every bank on PostgreSQL (bank --postgres): one server
	// per bank, started by the runner in the root namespace (listening on
	// the bridge address too when the nemeses need network namespaces) and
	// removed at the end; participant outcomes are read from its
	// arbiter_outcomes table instead of the embedded store.
	Postgres bool
	// MySQL runs every bank on MariaDB over XA (bank --mysql), one server
	// per bank, as Postgres does; outcomes are read from the MySQL
	// adapter's arbiter_outcomes table. Not with Postgres.
	MySQL bool
	// CommitMode is how workers commit: "standard" (Begin, then Commit;
	// the default), "one-shot" (coordinator-driven transfers in one
	// Commit call with no Begin, standard mode) or "parallel" (one-shot
	// coordinator-driven transfers, and every other Commit, in
	// parallel-commit mode).
	CommitMode string
	// Net chooses how partitions are made (the events workload always uses
	// NetProxy): NetNamespaces (root: each
	// process in its own network namespace, cuts as iptables DROP rules
	// plus the proxy mesh), NetProxy (loopback: cuts, latency and loss by
	// a userspace proxy per link only) or "" (the environment variable
	// ARBITER_JEPSEN_NET if set, else namespaces when a nemesis needs the
	// network and they are available, else proxies).
	Net string
	// LogStore is the coordinators' Raft log store (--log-store: boltdb
	// or wal); empty leaves arbiter serve's default.
	LogStore string
	// Progress, if set, receives a progress line every few seconds.
	Progress func(string)
}

// The commit modes of Config.CommitMode.
const (
	CommitStandard = "standard"
	CommitOneShot  = "one-shot"
	CommitParallel = "parallel"
)

// CommitModes lists the values Config.CommitMode accepts.
func CommitModes() []string { return []string{CommitStandard, CommitOneShot, CommitParallel} }

// The workloads of Config.Workload.
const (
	WorkloadBank   = "bank"
	WorkloadStatus = "status"
	WorkloadRace   = "race"
	// WorkloadEvents is the bank workload with an outbox participant
	// (participant/outbox) as every transfer's third branch, publishing
	// transfer.completed to NATS JetStream (a nats-server in the runner's
	// process); the events checker compares the stream with the commits.
	WorkloadEvents = "events"
	// WorkloadTransfers is the bank workload's transfers alone, every one
	// driven by the coordinator in one Commit (with --commit-mode one-shot:
	// the SDK's Run, no Begin): no reads, no service-driven joins. Reads
	// lock every account of every bank and service-driven transfers hold a
	// bank's locks while they call the next, so the bank workload has
	// stretches of lock-wait aborts with no commit even without faults;
	// this one measures what a fault costs a plain Run workload (issue 14
	// item 4's scenario).
	WorkloadTransfers = "transfers"
)

// Workloads lists the values Config.Workload accepts.
func Workloads() []string {
	return []string{WorkloadBank, WorkloadStatus, WorkloadRace, WorkloadEvents, WorkloadTransfers}
}

// RaceWindow is the race workload's default uniqueness window.
const RaceWindow = 8 * time.Second

// windowMargin is how much shorter than the uniqueness window the
// coordinators' --max-timeout is (the clock skew margin).
const windowMargin = 2 * time.Second

// coordDefaultTimeout is the coordinators' default transaction lifetime,
// which --max-timeout may not undercut.
const coordDefaultTimeout = 5 * time.Second

// Validate fills defaults and reports what cannot run.
func (c *Config) Validate() error {
	if !slices.Contains(Workloads(), c.Workload) {
		return fmt.Errorf("workload %q: want one of %v", c.Workload, Workloads())
	}
	if c.CommitMode == "" {
		c.CommitMode = CommitStandard
	}
	if !slices.Contains(CommitModes(), c.CommitMode) {
		return fmt.Errorf("commit mode %q: want one of %v", c.CommitMode, CommitModes())
	}
	for _, n := range c.Nemeses {
		if !slices.Contains(Nemeses(), n) {
			return fmt.Errorf("nemesis %q: want one of %v", n, Nemeses())
		}
		if n == RestartBroker && c.Workload != WorkloadEvents {
			return fmt.Errorf("nemesis %s needs the %s workload (the only one with a broker)", n, WorkloadEvents)
		}
	}
	if c.Duration <= 0 || c.Concurrency <= 0 || c.Dir == "" || c.BinDir == "" {
		return fmt.Errorf("duration, concurrency, dir and bin dir are required")
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	if c.Hold <= 0 {
		c.Hold = max(c.Interval/2, 1500*time.Millisecond)
	}
	if c.Accounts <= 0 {
		c.Accounts = 16
	}
	if c.Workload == WorkloadRace && c.Accounts < 2 {
		return fmt.Errorf("the race workload moves money between two accounts of one bank: want at least 2 accounts, not %d", c.Accounts)
	}
	if c.Opening <= 0 {
		c.Opening = 100
	}
	if c.TxTimeout <= 0 {
		c.TxTimeout = 5 * time.Second
	}
	if c.LivenessWait <= 0 {
		c.LivenessWait = 10 * time.Second
	}
	if err := c.validateFailpoints(); err != nil {
		return err
	}
	if err := validBroken(c.Broken); err != nil {
		return err
	}
	if c.LogStore != "" && !slices.Contains(raftlog.LogStores(), c.LogStore) {
		return fmt.Errorf("log store %q: want one of %v", c.LogStore, raftlog.LogStores())
	}
	return c.validateWindow()
}

// validBroken refuses a broken mode the coordinators do not know, before
// they refuse to start with it.
func validBroken(mode string) error {
	cfg := coordinator.DefaultConfig()
	cfg.Broken = coordinator.BrokenMode(mode)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("broken mode %q: %w", mode, err)
	}
	return nil
}

// validateFailpoints fills the default crash points and refuses names no
// process reaches (see internal/failpoint).
func (c *Config) validateFailpoints() error {
	if c.CoordFailpoints == "" {
		c.CoordFailpoints = failpoint.Spec(failpoint.AfterDecide.Arm(0.01), failpoint.Phase2Mid.Arm(0.005), failpoint.BeforeDecide.Arm(0.005))
	}
	if c.BankFailpoints == "" {
		enlist := 0.003
		if c.Workload == WorkloadRace { // its service-driven joins are the point: die between Enlist and prepare often
			enlist = 0.05
		}
		c.BankFailpoints = failpoint.Spec(failpoint.PrepareBeforeDurable.Arm(0.003), failpoint.PrepareAfterDurable.Arm(0.003),
			failpoint.VoteAfterSend.Arm(0.003), failpoint.CommitBeforeApply.Arm(0.003), failpoint.CommitAfterApply.Arm(0.003),
			failpoint.DoAfterEnlist.Arm(enlist))
	}
	if err := failpoint.CheckNames(c.CoordFailpoints, failpoint.CoordinatorPoints()); err != nil {
		return fmt.Errorf("coordinator failpoints: %w", err)
	}
	if err := failpoint.CheckNames(c.BankFailpoints, failpoint.ParticipantPoints()); err != nil {
		return fmt.Errorf("bank failpoints: %w", err)
	}
	return nil
}

// validateWindow fills the race workload's uniqueness window and checks
// that the max timeout it implies leaves room for the workers' lifetime.
func (c *Config) validateWindow() error {
	if c.UniquenessWindow == 0 && c.Workload == WorkloadRace {
		c.UniquenessWindow = RaceWindow
	}
	if c.UniquenessWindow == 0 {
		return nil
	}
	if need := max(c.TxTimeout, coordDefaultTimeout) + windowMargin; c.UniquenessWindow < need {
		return fmt.Errorf("uniqueness window %v: want at least %v (the %v transaction lifetime plus a %v margin)",
			c.UniquenessWindow, need, max(c.TxTimeout, coordDefaultTimeout), windowMargin)
	}
	return nil
}

// coordArgs are the flags every coordinator gets for this run.
func (c *Config) coordArgs() []string {
	if c.UniquenessWindow == 0 {
		return nil
	}
	return []string{"--uniqueness-window", c.UniquenessWindow.String(), "--max-timeout", (c.UniquenessWindow - windowMargin).String()}
}

// The network modes of Config.Net.
const (
	NetNamespaces = "netns"
	NetProxy      = "proxy"
)

// NetEnv is the environment variable that picks Config.Net when it is "".
const NetEnv = "ARBITER_JEPSEN_NET"

// NetMode resolves Config.Net (see there).
func (c *Config) NetMode() (string, error) {
	if c.Workload == WorkloadEvents { // its broker listens on the runner's loopback, which a namespace cannot reach
		if c.Net == NetNamespaces {
			return "", fmt.Errorf("network mode %s: the %s workload runs on loopback (--net %s): its broker is in the runner's namespace", NetNamespaces, WorkloadEvents, NetProxy)
		}
		return NetProxy, nil
	}
	mode := c.Net
	if mode == "" {
		mode = os.Getenv(NetEnv)
	}
	switch mode {
	case NetProxy:
		return NetProxy, nil
	case NetNamespaces:
		if err := netns.Available(); err != nil {
			return "", fmt.Errorf("network mode %s: %w", NetNamespaces, err)
		}
		return NetNamespaces, nil
	case "":
		if c.needsNet() && netns.Available() == nil {
			return NetNamespaces, nil
		}
		return NetProxy, nil
	}
	return "", fmt.Errorf("network mode %q: want %s or %s", mode, NetNamespaces, NetProxy)
}

// needsNet reports whether any nemesis needs network namespaces.
func (c *Config) needsNet() bool {
	for _, name := range c.Nemeses {
		if n, ok := findNemesis(name); ok && n.net {
			return true
		}
	}
	return false
}
