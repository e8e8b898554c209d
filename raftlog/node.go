package raftlog

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Deps are the Raft collaborators a Node uses. Nil fields get the production
// default: a TCP transport on Config.BindAddr, the Config.LogStore store
// in DataDir for Logs and Stable (logstore.go), a file snapshot store in
// DataDir.
// The Node owns everything it is given: Close closes each dep that has a
// Close method.
type Deps struct {
	Transport raft.Transport
	Logs      raft.LogStore
	Stable    raft.StableStore
	Snaps     raft.SnapshotStore
}

// logCacheSize is how many recent log entries are kept in memory.
const logCacheSize = 1024

// Node is one member of the replicated decision log.
type Node struct {
	cfg     Config
	log     *zap.Logger
	raft    *raft.Raft
	fsm     *FSM
	deps    Deps
	closers []io.Closer
	leader  *leaderTracker
	logs    *countingLogs
	timing  *timing    // see SetObserver
	trust   *peerTrust // which coordinator IDs may talk to this node (peertrust.go)
	// configChanges counts the configuration changes this node proposed
	// whose futures have not resolved (see MembershipChanging).
	configChanges atomic.Int32

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Open starts a node with production stores and a TCP transport. It
// bootstraps the cluster from cfg.Peers only when DataDir has no Raft state,
// so reopening a data dir is always safe.
func Open(cfg Config, logger *zap.Logger) (*Node, error) {
	return OpenWith(cfg, logger, Deps{})
}

// OpenWith is Open with injected Raft collaborators (see Deps).
func OpenWith(cfg Config, logger *zap.Logger, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: logger.With(zap.String("node-id", cfg.ID)), fsm: NewFSM(), timing: &timing{}, closed: make(chan struct{})}
	n.trust = newPeerTrust(cfg, n.log)
	if err := n.open(deps); err != nil {
		n.closeDeps()
		return nil, err
	}
	return n, nil
}

func (n *Node) open(deps Deps) error {
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("raftlog: data dir: %w", err)
	}
	if err := n.fillDeps(deps); err != nil {
		return err
	}
	rc := n.raftConfig()
	if err := n.bootstrap(rc); err != nil {
		return err
	}
	if err := n.restoreNewest(); err != nil {
		return err
	}
	n.logs = &countingLogs{LogStore: n.deps.Logs, timing: n.timing}
	cached, err := raft.NewLogCache(logCacheSize, n.logs) // replication reads recent entries from memory
	if err != nil {
		return err
	}
	r, err := raft.NewRaft(rc, timedFSM{fsm: n.fsm, timing: n.timing}, cached, n.deps.Stable, n.deps.Snaps, n.deps.Transport)
	if err != nil {
		return fmt.Errorf("raftlog: start raft: %w", err)
	}
	n.raft = r
	n.trust.bind(r)
	n.leader = newLeaderTracker(r, raft.ServerID(n.cfg.ID), n.log)
	n.log.Info("raft node started", zap.String("raft-addr", string(n.deps.Transport.LocalAddr())))
	return nil
}

// boltOptions are raft.db's bbolt options. The free-page list is not
// written on every commit (after log compaction it grows large, and each
// append would rewrite it): bbolt rebuilds it by scanning at open instead.
// Durability is unchanged; every commit is still fsynced.
func boltOptions() *bolt.Options {
	return &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}
}

func (n *Node) fillDeps(d Deps) error {
	hl := newHclog(n.log.Named("raft"))
	n.deps = d
	for _, c := range []any{d.Transport, d.Logs, d.Stable, d.Snaps} {
		n.own(c)
	}
	if d.Logs == nil || d.Stable == nil {
		db, err := openLogStore(n.cfg.DataDir, n.cfg.LogStore, hl)
		if err != nil {
			return err
		}
		n.own(db)
		if d.Logs == nil {
			n.deps.Logs = db
		}
		if d.Stable == nil {
			n.deps.Stable = db
		}
	}
	if d.Snaps == nil {
		snaps, err := raft.NewFileSnapshotStoreWithLogger(n.cfg.DataDir, 2, hl)
		if err != nil {
			return fmt.Errorf("raftlog: snapshot store: %w", err)
		}
		n.deps.Snaps = snaps
	}
	if d.Transport == nil {
		t, err := newTCPTransport(n.cfg, n.trust, hl)
		if err != nil {
			return err
		}
		n.own(t)
		n.deps.Transport = t
	}
	return nil
}

// own records c to be closed by Close, if it can be closed.
func (n *Node) own(c any) {
	if cl, ok := c.(io.Closer); ok {
		for _, have := range n.closers {
			if have == cl {
				return
			}
		}
		n.closers = append(n.closers, cl)
	}
}

func newTCPTransport(cfg Config, trust *peerTrust, hl hclog.Logger) (*raft.NetworkTransport, error) {
	if cfg.TLS != nil {
		return newTLSTransport(cfg, trust, hl)
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.advertise())
	if err != nil {
		return nil, fmt.Errorf("raftlog: advertise address %q: %w", cfg.advertise(), err)
	}
	t, err := raft.NewTCPTransportWithLogger(cfg.BindAddr, adv, 3, 10*time.Second, hl)
	if err != nil {
		return nil, fmt.Errorf("raftlog: listen on %q: %w", cfg.BindAddr, err)
	}
	return t, nil
}

func (n *Node) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.ID)
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.LeaderLeaseTimeout
	rc.CommitTimeout = n.cfg.CommitTimeout
	rc.SnapshotThreshold = n.cfg.SnapshotThreshold
	rc.SnapshotInterval = n.cfg.SnapshotInterval
	rc.TrailingLogs = n.cfg.TrailingLogs
	rc.MaxAppendEntries = n.cfg.MaxAppendEntries
	rc.Logger = newHclog(n.log.Named("raft"))
	rc.NoSnapshotRestoreOnStart = true // Open restores the newest snapshot itself (restoreNewest)
	return rc
}

// bootstrap writes the initial configuration iff there is no Raft state
// and the node is not joining a running cluster (Config.Join).
func (n *Node) bootstrap(rc *raft.Config) error {
	has, err := raft.HasExistingState(n.deps.Logs, n.deps.Stable, n.deps.Snaps)
	if err != nil {
		return fmt.Errorf("raftlog: read raft state: %w", err)
	}
	if has {
		n.log.Info("raft state found, not bootstrapping")
		return nil
	}
	if n.cfg.Join {
		n.log.Info("join mode: not bootstrapping; waiting for the leader to add this node")
		return nil
	}
	var conf raft.Configuration
	for _, p := range n.cfg.Peers {
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address),
		})
	}
	n.log.Info("bootstrapping cluster", zap.Int("voters", len(conf.Servers)))
	if err := raft.BootstrapCluster(rc, n.deps.Logs, n.deps.Stable, n.deps.Snaps, n.deps.Transport, conf); err != nil {
		return fmt.Errorf("raftlog: bootstrap: %w", err)
	}
	return nil
}

// Close shuts Raft down and closes the transport and stores. It is
// idempotent and safe to call concurrently.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.closed)
		var errs []error
		if n.raft != nil {
			errs = append(errs, n.raft.Shutdown().Error())
			n.leader.stop()
		}
		errs = append(errs, n.closeDeps())
		n.closeErr = errors.Join(errs...)
		n.log.Info("raft node closed")
	})
	return n.closeErr
}

func (n *Node) closeDeps() error {
	var errs []error
	if t, ok := n.deps.Transport.(*raft.NetworkTransport); ok {
		t.CloseStreams()
	}
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i].Close())
	}
	n.closers = nil
	return errors.Join(errs...)
}
