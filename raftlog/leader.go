package raftlog

import (
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"
)

// leaderTracker turns Raft's leader observations into a latest-value
// channel. Raft never blocks on it: the observer is non-blocking with a
// large buffer, and the consumer-facing channel has size one, with each new
// value replacing an unread old one.
type leaderTracker struct {
	r       *raft.Raft
	obs     *raft.Observer
	in      chan raft.Observation
	out     chan bool
	self    raft.ServerID
	log     *zap.Logger
	changes atomic.Uint64
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	viewMu sync.Mutex
	view   chan struct{} // closed at the next leader observation
}

func newLeaderTracker(r *raft.Raft, self raft.ServerID, log *zap.Logger) *leaderTracker {
	t := &leaderTracker{
		r: r, self: self, log: log,
		in:   make(chan raft.Observation, 256),
		out:  make(chan bool, 1),
		done: make(chan struct{}),
		view: make(chan struct{}),
	}
	t.obs = raft.NewObserver(t.in, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(t.obs)
	t.wg.Add(1)
	go t.run()
	return t
}

func (t *leaderTracker) run() {
	defer t.wg.Done()
	leading := false
	for {
		select {
		case <-t.done:
			return
		case o := <-t.in:
			lo := o.Data.(raft.LeaderObservation)
			t.changes.Add(1)
			t.nextView()
			t.log.Info("leader changed", zap.String("leader-id", string(lo.LeaderID)),
				zap.String("leader-addr", string(lo.LeaderAddr)))
			if now := lo.LeaderID == t.self; now != leading {
				leading = now
				t.publish(now)
			}
		}
	}
}

// publish replaces any unread value with v. run is the only sender.
func (t *leaderTracker) publish(v bool) {
	select {
	case <-t.out:
	default:
	}
	t.out <- v
}

// nextView closes the current view channel and starts a new one.
func (t *leaderTracker) nextView() {
	t.viewMu.Lock()
	defer t.viewMu.Unlock()
	close(t.view)
	t.view = make(chan struct{})
}

// viewChanged returns a channel closed at the next leader observation.
func (t *leaderTracker) viewChanged() <-chan struct{} {
	t.viewMu.Lock()
	defer t.viewMu.Unlock()
	return t.view
}

// count includes observations Raft dropped because the buffer was full.
func (t *leaderTracker) count() uint64 { return t.changes.Load() + t.obs.GetNumDropped() }

func (t *leaderTracker) stop() {
	t.once.Do(func() {
		t.r.DeregisterObserver(t.obs)
		close(t.done)
		t.wg.Wait()
	})
}
