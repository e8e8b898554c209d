package participant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	coordRounds  = 3                     // passes over every address per call
	coordBackoff = 50 * time.Millisecond // first pause between passes, doubled each pass
)

// coordClient calls the coordinators: it tries each address in turn on
// Unavailable or DeadlineExceeded (the node is down or partitioned away),
// with a bounded number of passes and a growing backoff between passes. It
// starts from the last address that answered.
type coordClient struct {
	conns   []*grpc.ClientConn
	clients []arbiterpb.CoordinatorClient
	timeout time.Duration

	mu   sync.Mutex
	next int
}

func dialCoordinators(cfg Config) (*coordClient, error) {
	opts := cfg.dialOptions()
	c := &coordClient{timeout: cfg.RPCTimeout}
	for _, addr := range cfg.Coordinators {
		conn, err := grpc.NewClient(addr, opts...)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("participant: dial coordinator %q: %w", addr, err)
		}
		c.conns = append(c.conns, conn)
		c.clients = append(c.clients, arbiterpb.NewCoordinatorClient(conn))
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

// pass tries each coordinator once, starting with the last one that answered.
func (c *coordClient) pass(ctx context.Context, fn func(context.Context, arbiterpb.CoordinatorClient) error) error {
	start := c.first()
	var err error
	for i := range c.clients {
		idx := (start + i) % len(c.clients)
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

func (c *coordClient) attempt(ctx context.Context, idx int, fn func(context.Context, arbiterpb.CoordinatorClient) error) error {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return fn(actx, c.clients[idx])
}

func (c *coordClient) first() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next
}

func (c *coordClient) remember(idx int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = idx
}

func (c *coordClient) close() {
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
