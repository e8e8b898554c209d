package coordinator

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/healthprobe"
)

// Participant health: every node (leader or not) keeps a bounded view of
// which registered participants it can reach. It is fed by a background
// probe (the standard gRPC health check on the connection Prepare uses,
// every ProbeInterval, bounded by ProbeTimeout) and by the outcome of every
// Prepare. A participant is down after a refused connection, a health
// answer NOT_SERVING, or ProbeFailures consecutive timeouts; the first
// answer of any kind brings it back. The leader uses the view to fail fast
// (prepare.go: a Prepare to a participant that is down is answered at once
// as a no vote naming its state) and, with its followers' views, to hand
// leadership to a node that reaches more participants (reach.go).

// partHealth is one node's view; safe for concurrent use.
type partHealth struct {
	mu       sync.Mutex
	failures int // consecutive timeouts that make a participant down
	now      func() time.Time
	m        map[string]*partState
	// wake: participant -> closed when it next goes down (see wentDown).
	wake map[string]chan struct{}
	// downs gets a token whenever some participant goes down (buffered 1:
	// the leader's reach loop looks at once instead of at its next tick).
	downs chan struct{}
}

// partState is what is known of one participant.
type partState struct {
	answered bool // it has answered at least once: only then is it reachable
	down     bool
	kind     failKind  // what made it down
	reason   string    // why it is down: "connection refused", "health NOT_SERVING", "3 consecutive timeouts"
	since    time.Time // when it went down
	timeouts int       // consecutive timeouts
}

// failKind classifies a failed call to a participant.
type failKind int

const (
	failNone       failKind = iota // not a reachability failure (answered, or cancelled by us)
	failTimeout                    // no answer in time: counts toward ProbeFailures
	failRefused                    // connection refused: down at once
	failNotServing                 // health NOT_SERVING: down at once
)

func newPartHealth(failures int, now func() time.Time) *partHealth {
	return &partHealth{failures: failures, now: now, m: make(map[string]*partState), wake: make(map[string]chan struct{}),
		downs: make(chan struct{}, 1)}
}

func (h *partHealth) get(pid string) *partState {
	s, ok := h.m[pid]
	if !ok {
		s = &partState{}
		h.m[pid] = s
	}
	return s
}

// succeeded records an answer from pid; it reports whether that closed the
// breaker (pid was down).
func (h *partHealth) succeeded(pid string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(pid)
	was := s.down
	*s = partState{answered: true}
	return was
}

// failed records a failed call to pid; it reports whether that opened the
// breaker (pid was up and is down now).
func (h *partHealth) failed(pid string, kind failKind, detail string) bool {
	if kind == failNone {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.get(pid)
	if s.down {
		return false
	}
	switch kind {
	case failRefused:
		s.reason = "connection refused"
	case failNotServing:
		s.reason = "health NOT_SERVING"
	case failTimeout:
		if s.timeouts++; s.timeouts < h.failures {
			return false
		}
		s.reason = fmt.Sprintf("%d consecutive timeouts", s.timeouts)
	}
	if detail != "" {
		s.reason += " (" + detail + ")"
	}
	s.down, s.kind, s.since = true, kind, h.now()
	if ch, ok := h.wake[pid]; ok {
		close(ch)
		delete(h.wake, pid)
	}
	select {
	case h.downs <- struct{}{}:
	default:
	}
	return true
}

// down reports whether pid is down, and why ("connection refused for 1.2s").
func (h *partHealth) down(pid string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.m[pid]
	if !ok || !s.down {
		return "", false
	}
	return fmt.Sprintf("%s for %v", s.reason, h.now().Sub(s.since).Round(time.Millisecond)), true
}

// wentDown returns a channel closed once pid is down (at once if it is).
// A Prepare attempt in flight gives up on it: the breaker's verdict
// replaces the rest of the attempt's RPC timeout.
func (h *partHealth) wentDown(pid string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.m[pid]; ok && s.down {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	ch, ok := h.wake[pid]
	if !ok {
		ch = make(chan struct{})
		h.wake[pid] = ch
	}
	return ch
}

// downSince reports whether pid is down, since when, and whether it said
// so itself (health NOT_SERVING) rather than failing to answer.
func (h *partHealth) downSince(pid string) (since time.Time, notServing, down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.m[pid]
	if !ok || !s.down {
		return time.Time{}, false, false
	}
	return s.since, s.kind == failNotServing, true
}

// reachable returns the participants of pids that have answered and are
// not down, sorted. One never probed yet is not counted: a node that just
// started must not look better than a leader that knows.
func (h *partHealth) reachable(pids []string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range pids {
		if s, ok := h.m[p]; ok && s.answered && !s.down {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// downOf returns the participants of pids that are down, sorted. One never
// probed yet is not down.
func (h *partHealth) downOf(pids []string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range pids {
		if s, ok := h.m[p]; ok && s.down {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// forget drops participants that are no longer registered.
func (h *partHealth) forget(keep map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.m {
		if _, ok := keep[p]; !ok {
			delete(h.m, p)
		}
	}
}

// classify says what a call's error tells about reachability
// (healthprobe.Classify): any answer from the participant's server (even
// an error status such as Unimplemented or PermissionDenied) means it is
// reachable.
func classify(err error) failKind {
	switch healthprobe.Classify(err) {
	case healthprobe.Timeout:
		return failTimeout
	case healthprobe.Refused:
		return failRefused
	}
	return failNone
}

// probeLoop checks every registered participant each ProbeInterval until
// ctx ends. One probe per participant is in flight at a time.
func (c *Coordinator) probeLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.ProbeInterval)
	defer t.Stop()
	var mu sync.Mutex
	busy := map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		parts := c.node.FSM().Participants()
		c.health.forget(parts)
		for pid, addr := range parts {
			mu.Lock()
			skip := busy[pid]
			busy[pid] = true
			mu.Unlock()
			if skip {
				continue
			}
			wg.Go(func() {
				c.probe(ctx, pid, addr, false)
				mu.Lock()
				delete(busy, pid)
				mu.Unlock()
			})
		}
		c.cfg.Metrics.reachable(len(c.health.reachable(keys(parts))), len(parts))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe sends one health check to pid over the connection Prepare uses
// (healthprobe.Check) and reports whether pid answered and is serving.
// With patient, a connection that is not ready is given the whole
// ProbeTimeout to become ready instead of failing at once: the leader's own
// second look before a transfer (reach.go) must not miss a participant
// that is back only because its connection is still reconnecting. The
// background probe is not patient, so a refused connection is seen at
// once.
func (c *Coordinator) probe(ctx context.Context, pid, addr string, patient bool) bool {
	cc, err := c.conns.get(addr, participantIdentity(pid))
	if err != nil {
		return false
	}
	r, _ := healthprobe.Check(ctx, cc, c.cfg.ProbeTimeout, patient)
	switch r {
	case healthprobe.Answered:
		c.noteSuccess(pid)
		return true
	case healthprobe.NotServing:
		c.noteFailure(pid, failNotServing, "")
	case healthprobe.Timeout:
		c.noteFailure(pid, failTimeout, "")
	case healthprobe.Refused:
		c.noteFailure(pid, failRefused, "")
	}
	return false
}

// probeNow probes the participants of parts (ID to address) that are not
// in skip, all at once (patient: see probe), and returns those that
// answered, sorted. It takes at most ProbeTimeout (and the time to dial).
func (c *Coordinator) probeNow(ctx context.Context, parts map[string]string, skip []string, patient bool) []string {
	var mu sync.Mutex
	var out []string
	var wg sync.WaitGroup
	for pid, addr := range parts {
		if slices.Contains(skip, pid) {
			continue
		}
		wg.Go(func() {
			if c.probe(ctx, pid, addr, patient) {
				mu.Lock()
				out = append(out, pid)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(out)
	return out
}

// noteSuccess and noteFailure update the view and log each change.
func (c *Coordinator) noteSuccess(pid string) {
	if c.health.succeeded(pid) {
		c.log.Info("participant reachable again", zap.String("participant", pid))
	}
}

func (c *Coordinator) noteFailure(pid string, kind failKind, detail string) {
	if c.health.failed(pid, kind, detail) {
		why, _ := c.health.down(pid)
		c.log.Warn("participant unreachable from this node", zap.String("participant", pid), zap.String("reason", why))
	}
}

// reachView splits the registered participants (ID to address) into those
// this node reaches and those it does not, with their state.
func (c *Coordinator) reachView(parts map[string]string) ([]string, map[string]string) {
	reach := c.health.reachable(keys(parts))
	down := map[string]string{}
	for p := range parts {
		if why, ok := c.health.down(p); ok {
			down[p] = why
		}
	}
	return reach, down
}
