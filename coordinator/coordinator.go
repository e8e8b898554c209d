package coordinator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/coordinator/internal/txhistory"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Coordinator is one node's 2PC engine and gRPC service. Only the Raft
// leader runs transactions; see leader.go for what happens on a change.
type Coordinator struct {
	arbiterpb.UnimplementedCoordinatorServer

	cfg   Config
	node  *raftlog.Node
	log   *zap.Logger
	conns *connPool
	// members is every coordinator's gRPC address (see memberAddrs).
	members *memberAddrs
	// prepares and decisions batch the calls to each participant.
	prepares  *prepareBatcher
	decisions *decisionBatcher
	// history keeps the histories of transactions run here, for
	// Admin.TraceTx (nil: history off).
	history *txhistory.History
	// health is this node's view of which participants it reaches.
	health *partHealth

	mu      sync.Mutex
	lead    *leaderState // nil unless this node leads and has caught up
	runs    map[string]*run
	phase2  map[string]*phase2
	closed  bool
	stop    context.CancelFunc
	bgDone  sync.WaitGroup
	finishQ chan string
	// link is this node's view of its link to the leader (leaderlink.go).
	link *leaderLink
	// lastTransfer is when this node last handed leadership away (reach.go).
	lastTransfer time.Time
	// watchEnd is closed (once, by EndWatches) to end every Watch stream.
	watchEnd   chan struct{}
	endWatches sync.Once
}

// New wires a coordinator over a Raft node. Call Start to begin serving.
func New(cfg Config, node *raftlog.Node, logger *zap.Logger) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if node == nil || logger == nil {
		return nil, fmt.Errorf("coordinator: node and logger are required")
	}
	c := &Coordinator{
		cfg:      cfg,
		node:     node,
		log:      logger.With(zap.String("node-id", node.ID())),
		conns:    newConnPool(cfg.DialOptions, node.TLS()),
		members:  newMemberAddrs(cfg.Members),
		history:  txhistory.New(cfg.HistoryCapacity, cfg.clock()),
		runs:     make(map[string]*run),
		phase2:   make(map[string]*phase2),
		finishQ:  make(chan string, 4096),
		health:   newPartHealth(cfg.ProbeFailures, cfg.clock()),
		link:     newLeaderLink(),
		watchEnd: make(chan struct{}),
	}
	c.prepares, c.decisions = c.newPrepareBatcher(), c.newDecisionBatcher()
	return c, nil
}

// Start launches the leadership watcher, the finisher and the participant
// health probe.
func (c *Coordinator) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.stop = cancel
	c.mu.Unlock()
	c.goBackground(func() { c.watchLeadership(ctx) })
	c.goBackground(func() { c.runFinisher(ctx) })
	c.goBackground(func() { c.probeLoop(ctx) })
	c.goBackground(func() { c.leaderLinkLoop(ctx) })
}

// Close stops every background task and closes peer connections. It does
// not close the Raft node, which the caller owns.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	stop := c.stop
	c.mu.Unlock()
	c.EndWatches()
	if stop != nil {
		stop()
	}
	c.stepDown()
	c.bgDone.Wait()
	c.conns.close()
}

func (c *Coordinator) goBackground(f func()) {
	c.bgDone.Add(1)
	go func() {
		defer c.bgDone.Done()
		f()
	}()
}

// leader returns the current leader state, or nil when this node may not
// run transactions (a follower, or a new leader still catching up).
func (c *Coordinator) leader() *leaderState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lead
}
