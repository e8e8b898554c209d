package participant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/healthprobe"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

const (
	coordRounds  = 3                     // passes over every address per call
	coordBackoff = 50 * time.Millisecond // first pause between passes, doubled each pass
)

// coordClient calls the coordinators: it tries each address in turn on
// Unavailable or DeadlineExceeded (the node is down or partitioned away),
// with a bounded number of passes and a growing backoff between passes. It
// starts from the last address that answered, and tries the coordinators
// its health view says are down last.
//
// The health view (issue 14) is the participant's side of the
// coordinators' participant probes (coordinator/health.go): a coordinator
// that this participant alone cannot reach (a one-way cut of the
// participants from the leader: the leader still reaches them and its
// followers) would otherwise hold every call for RPCTimeout, and a
// service-driven Enlist holds the branch's locks meanwhile, so every
// transaction behind those locks stalled too, for 2 to 3.5 s per cut. With
// the view, a call waiting on a coordinator that goes down moves to the
// next one at once, and later calls skip it.
type coordClient struct {
	addrs   []string
	conns   []*grpc.ClientConn
	clients []arbiterpb.CoordinatorClient
	timeout time.Duration
	log     *zap.Logger

	probeInterval, probeTimeout time.Duration
	failures                    int // consecutive timeouts that make a coordinator down

	mu   sync.Mutex
	next int
	st   []coordState

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// coordState is what this participant knows of one coordinator.
type coordState struct {
	down     bool
	reason   string    // why it is down
	since    time.Time // when it went down
	timeouts int       // consecutive timeouts
	wake     chan struct{}
}

func dialCoordinators(cfg Config, log *zap.Logger) (*coordClient, error) {
	opts := cfg.dialOptions()
	c := &coordClient{
		timeout: cfg.RPCTimeout, log: log,
		probeInterval: cfg.ProbeInterval, probeTimeout: cfg.ProbeTimeout, failures: cfg.ProbeFailures,
		stop: func() {},
	}
	for _, addr := range cfg.Coordinators {
		conn, err := grpc.NewClient(addr, opts...)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("participant: dial coordinator %q: %w", addr, err)
		}
		c.addrs = append(c.addrs, addr)
		c.conns = append(c.conns, conn)
		c.clients = append(c.clients, arbiterpb.NewCoordinatorClient(conn))
		c.st = append(c.st, coordState{wake: make(chan struct{})})
	}
	if len(c.conns) > 1 {
		ctx, stop := context.WithCancel(context.Background())
		c.stop = stop
		for i := range c.conns {
			c.wg.Go(func() { c.probeLoop(ctx, i) })
		}
	}
	return c, nil
}

// call runs fn against the coordinators until it succeeds, fails with an
// error that is not retryable, the passes run out, or ctx is done.
func (c *coordClient) call(ctx context.Context, fn func(context.Context, arbiterpb.CoordinatorClient) error) error {
	pause := coordBackoff
	var err error
	for round := 0; round < coordRounds; round++ {
		if err = c.pass(ctx, fn); !retryable(err) {
			return err
		}
		if !backoff.Sleep(ctx, pause) {
			return ctx.Err()
		}
		pause *= 2
	}
	return err
}

// pass tries each coordinator once: those up first, starting with the last
// one that answered, then those down (the view may be stale, and with all
// of them down there is nothing better to try).
func (c *coordClient) pass(ctx context.Context, fn func(context.Context, arbiterpb.CoordinatorClient) error) error {
	var err error
	for _, idx := range c.order() {
		if err = c.attempt(ctx, idx, fn); !retryable(err) {
			c.remember(idx)
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return err
}

// order lists the coordinators in the order a pass tries them.
func (c *coordClient) order() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.clients)
	up, down := make([]int, 0, n), []int(nil)
	for i := range n {
		idx := (c.next + i) % n
		if c.st[idx].down {
			down = append(down, idx)
		} else {
			up = append(up, idx)
		}
	}
	return append(up, down...)
}

// attempt is one call to coordinator idx, bounded by RPCTimeout. If the
// health view marks idx down while the call waits and another coordinator
// is not down, the call is abandoned as UNAVAILABLE so the pass moves on.
func (c *coordClient) attempt(ctx context.Context, idx int, fn func(context.Context, arbiterpb.CoordinatorClient) error) error {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cctx, abandon := context.WithCancelCause(actx)
	defer abandon(nil)
	if wake := c.wentDown(idx); wake != nil {
		go func() {
			select {
			case <-wake:
				abandon(errCoordinatorDown)
			case <-cctx.Done():
			}
		}()
	}
	err := fn(cctx, c.clients[idx])
	switch {
	case err == nil:
		c.answered(idx)
	case errors.Is(context.Cause(cctx), errCoordinatorDown):
		why, _ := c.isDown(idx)
		err = status.Errorf(codes.Unavailable, "coordinator %s is unreachable from this participant (%s): call moved to the next coordinator", c.addrs[idx], why)
	case ctx.Err() == nil && actx.Err() != nil:
		c.failed(idx, false, fmt.Sprintf("a call got no answer within %v", c.timeout))
	case !retryable(err):
		c.answered(idx) // an answer, even an error one, means it is reachable
	}
	return err
}

// errCoordinatorDown is the cause of an attempt abandoned by the view.
var errCoordinatorDown = errors.New("the coordinator went down while the call waited")

// wentDown returns a channel closed when idx next goes down, or nil when
// abandoning a call to it would not help: it is down already (the pass
// tries it last, when nothing else is left) or every other one is.
func (c *coordClient) wentDown(idx int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st[idx].down {
		return nil
	}
	for i := range c.st {
		if i != idx && !c.st[i].down {
			return c.st[idx].wake
		}
	}
	return nil
}

// answered records an answer from idx: it is up.
func (c *coordClient) answered(idx int) {
	c.mu.Lock()
	s := &c.st[idx]
	was, since := s.down, s.since
	s.down, s.timeouts, s.reason = false, 0, ""
	c.mu.Unlock()
	if was {
		c.log.Info("coordinator reachable again", zap.String("coordinator", c.addrs[idx]),
			zap.Duration("down-for", time.Since(since).Round(time.Millisecond)))
	}
}

// failed records a failed probe or call to idx: a timeout counts toward
// ProbeFailures, anything else (refused, NOT_SERVING) makes it down at once.
// When it goes down its waiting calls are woken (wentDown) and the next
// pass starts elsewhere.
func (c *coordClient) failed(idx int, now bool, why string) {
	c.mu.Lock()
	s := &c.st[idx]
	if s.down {
		c.mu.Unlock()
		return
	}
	if !now {
		if s.timeouts++; s.timeouts < c.failures {
			c.mu.Unlock()
			return
		}
		why = fmt.Sprintf("%d consecutive timeouts, the last: %s", s.timeouts, why)
	}
	s.down, s.reason, s.since = true, why, time.Now()
	close(s.wake)
	s.wake = make(chan struct{})
	if c.next == idx {
		for i := 1; i < len(c.st); i++ {
			if j := (idx + i) % len(c.st); !c.st[j].down {
				c.next = j
				break
			}
		}
	}
	c.mu.Unlock()
	c.log.Warn("coordinator unreachable from this participant", zap.String("coordinator", c.addrs[idx]), zap.String("reason", why))
}

// isDown reports whether idx is down, and why.
func (c *coordClient) isDown(idx int) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st[idx]
	return s.reason, s.down
}

// reachable counts the coordinators not down.
func (c *coordClient) reachable() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.st {
		if !s.down {
			n++
		}
	}
	return n
}

// probeLoop health-checks coordinator idx every probe interval until ctx
// ends, one check at a time.
func (c *coordClient) probeLoop(ctx context.Context, idx int) {
	t := time.NewTicker(c.probeInterval)
	defer t.Stop()
	for {
		c.probe(ctx, idx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe sends one health check to idx (healthprobe.Check).
func (c *coordClient) probe(ctx context.Context, idx int) {
	r, err := healthprobe.Check(ctx, c.conns[idx], c.probeTimeout, false)
	switch r {
	case healthprobe.Answered:
		c.answered(idx)
	case healthprobe.NotServing:
		c.failed(idx, true, "health NOT_SERVING: the node knows no leader, is catching up, or cannot reach the leader")
	case healthprobe.Refused:
		c.failed(idx, true, "connection refused")
	case healthprobe.Timeout:
		why := fmt.Sprintf("a health check got no answer within %v", c.probeTimeout)
		if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
			why = "health check: " + st.Message()
		}
		c.failed(idx, false, why)
	}
}

func (c *coordClient) remember(idx int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = idx
}

// close stops the probes and closes the connections.
func (c *coordClient) close() {
	c.stop()
	c.wg.Wait()
	for _, conn := range c.conns {
		_ = conn.Close()
	}
}

// retryable reports whether another coordinator (or a later attempt) may
// succeed where this one failed.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}
