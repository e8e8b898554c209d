package raftlog

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// Peer is one voting member of the cluster.
type Peer struct {
	// ID is the node's stable Raft server ID.
	ID string
	// Address is the node's Raft TCP address (host:port).
	Address string
}

// Config configures a Node. Start from DefaultConfig and set ID, DataDir,
// BindAddr and Peers.
type Config struct {
	// ID is this node's Raft server ID; it must appear in Peers.
	ID string
	// BindAddr is the host:port the Raft TCP transport listens on.
	BindAddr string
	// AdvertiseAddr is the host:port other nodes dial; empty means BindAddr.
	AdvertiseAddr string
	// DataDir holds the Raft log and stable store (see LogStore) and the
	// snapshots.
	DataDir string
	// LogStore is the Raft log and stable store kept in DataDir:
	// LogStoreWAL ("wal", DataDir/wal/, one fsync per append; the default)
	// or LogStoreBoltDB ("boltdb", DataDir/raft.db, two fdatasyncs per
	// append). Open refuses a DataDir that holds the other kind
	// (ErrLogStoreMismatch).
	LogStore string
	// Peers lists every voter, this node included. It is used only to
	// bootstrap a brand-new cluster, once, when DataDir holds no Raft state;
	// on restart the membership comes from the log. With Join it may be
	// empty and need not name this node.
	Peers []Peer
	// Join means: never bootstrap, even when DataDir is empty; wait to be
	// added to a running cluster by its leader (Node.AddVoter, `arbiter
	// members add`). The zero value bootstraps from Peers as before.
	Join bool
	// HeartbeatTimeout is how long a follower waits without contact from the
	// leader before it starts an election.
	HeartbeatTimeout time.Duration
	// ElectionTimeout is how long a candidate waits for votes before it
	// starts a new election.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader stays leader without reaching a
	// quorum; it must not exceed HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is the longest the leader waits before sending an
	// AppendEntries heartbeat that carries the commit index.
	CommitTimeout time.Duration
	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one.
	SnapshotThreshold uint64
	// SnapshotInterval is how often Raft checks SnapshotThreshold.
	SnapshotInterval time.Duration
	// TrailingLogs is how many entries are kept after a snapshot so slow
	// followers can catch up from the log rather than a snapshot.
	TrailingLogs uint64
	// MaxAppendEntries caps the entries sent in one AppendEntries request
	// (and so the batch size of applies); at most 1024.
	MaxAppendEntries int
	// ApplyTimeout bounds Apply, Barrier and VerifyLeader when the context
	// has no earlier deadline.
	ApplyTimeout time.Duration
	// TLS, when set, carries Raft traffic over mutual TLS (see tls.go):
	// both ends must hold a certificate from its CA naming a coordinator
	// identity. Nil means plaintext TCP (an explicit --insecure).
	TLS *security.Source
}

// DefaultConfig returns low-latency defaults for a cluster on a fast
// network (loopback or one rack). ID, DataDir and Peers are left empty.
func DefaultConfig() Config {
	return Config{
		BindAddr:           "127.0.0.1:7001",
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 250 * time.Millisecond,
		CommitTimeout:      20 * time.Millisecond,
		SnapshotThreshold:  8192,
		SnapshotInterval:   30 * time.Second,
		TrailingLogs:       10240,
		MaxAppendEntries:   256,
		ApplyTimeout:       5 * time.Second,
		LogStore:           LogStoreWAL,
	}
}

// advertise returns the address other nodes dial.
func (c Config) advertise() string {
	if c.AdvertiseAddr != "" {
		return c.AdvertiseAddr
	}
	return c.BindAddr
}

// Validate checks every field and the rules that tie fields together.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ID == "" {
		add("ID is required")
	}
	if c.DataDir == "" {
		add("DataDir is required")
	}
	if !validLogStore(c.LogStore) {
		add("LogStore %q: want one of %s", c.LogStore, strings.Join(LogStores(), ", "))
	}
	if _, _, err := net.SplitHostPort(c.BindAddr); err != nil {
		add("BindAddr %q: %w", c.BindAddr, err)
	}
	if c.AdvertiseAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdvertiseAddr); err != nil {
			add("AdvertiseAddr %q: %w", c.AdvertiseAddr, err)
		}
	}
	errs = append(errs, c.validateTimes()...)
	errs = append(errs, c.validatePeers()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("raftlog: invalid config: %w", err)
	}
	return nil
}

func (c Config) validateTimes() []error {
	var errs []error
	min := 5 * time.Millisecond
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"HeartbeatTimeout", c.HeartbeatTimeout}, {"ElectionTimeout", c.ElectionTimeout},
		{"LeaderLeaseTimeout", c.LeaderLeaseTimeout}, {"SnapshotInterval", c.SnapshotInterval},
	} {
		if f.d < min {
			errs = append(errs, fmt.Errorf("%s %v must be at least %v", f.name, f.d, min))
		}
	}
	if c.CommitTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("CommitTimeout %v must be at least 1ms", c.CommitTimeout))
	}
	if c.ApplyTimeout <= 0 {
		errs = append(errs, errors.New("ApplyTimeout must be positive"))
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("LeaderLeaseTimeout %v must not exceed HeartbeatTimeout %v",
			c.LeaderLeaseTimeout, c.HeartbeatTimeout))
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("ElectionTimeout %v must be at least HeartbeatTimeout %v",
			c.ElectionTimeout, c.HeartbeatTimeout))
	}
	if c.MaxAppendEntries <= 0 || c.MaxAppendEntries > 1024 {
		errs = append(errs, fmt.Errorf("MaxAppendEntries %d must be in 1..1024", c.MaxAppendEntries))
	}
	if c.SnapshotThreshold == 0 {
		errs = append(errs, errors.New("SnapshotThreshold must be positive"))
	}
	return errs
}

func (c Config) validatePeers() []error {
	if len(c.Peers) == 0 && c.Join {
		return nil
	}
	if len(c.Peers) == 0 {
		return []error{errors.New("Peers is required (every voter, this node included)")}
	}
	var errs []error
	ids, addrs := map[string]bool{}, map[string]bool{}
	for _, p := range c.Peers {
		if p.ID == "" || p.Address == "" {
			errs = append(errs, fmt.Errorf("peer %q=%q: ID and Address are required", p.ID, p.Address))
		}
		if ids[p.ID] {
			errs = append(errs, fmt.Errorf("peer ID %q listed twice", p.ID))
		}
		if addrs[p.Address] {
			errs = append(errs, fmt.Errorf("peer address %q listed twice", p.Address))
		}
		ids[p.ID], addrs[p.Address] = true, true
		if p.ID == c.ID && c.ID != "" && p.Address != c.advertise() {
			errs = append(errs, fmt.Errorf("peer %q has address %q, but this node advertises %q",
				p.ID, p.Address, c.advertise()))
		}
	}
	if c.ID != "" && !ids[c.ID] && !c.Join {
		errs = append(errs, fmt.Errorf("this node's ID %q is not in Peers", c.ID))
	}
	return errs
}

// ParsePeers parses "n1=127.0.0.1:7001,n2=127.0.0.1:7002" into peers, in
// the order given. Whitespace around items is ignored.
func ParsePeers(s string) ([]Peer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("raftlog: empty peer list: want id=host:port[,id=host:port...]")
	}
	var peers []Peer
	for _, item := range strings.Split(s, ",") {
		p, err := parsePeer(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		peers = append(peers, p)
	}
	return peers, nil
}

func parsePeer(item string) (Peer, error) {
	id, addr, ok := strings.Cut(item, "=")
	id, addr = strings.TrimSpace(id), strings.TrimSpace(addr)
	if !ok || id == "" || addr == "" {
		return Peer{}, fmt.Errorf("raftlog: peer %q: want id=host:port", item)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return Peer{}, fmt.Errorf("raftlog: peer %q: bad address: %w", item, err)
	}
	return Peer{ID: id, Address: addr}, nil
}
