package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// ErrOutcomeUnknown means the caller's context ended before any node
// reported the outcome of a call whose effect may have happened. Ask again
// with Status or retry Commit with the same ID: both are safe.
var ErrOutcomeUnknown = errors.New("arbiter: outcome unknown")

// Config says how to reach the cluster.
type Config struct {
	// Addresses are the coordinators' gRPC addresses; any node will do.
	Addresses []string
	// ClientID names this client in the transactions it begins.
	ClientID string
	// AttemptTimeout bounds one attempt of a call on one node.
	AttemptTimeout time.Duration
	// OnRetry, if set, is called each time a call is retried after an
	// attempt that could not give an answer (for metrics and tests).
	OnRetry func(err error)
	// DialOptions replace the default (plaintext) options.
	DialOptions []grpc.DialOption
}

// Client is safe for concurrent use.
type Client struct {
	cfg   Config
	conns []*grpc.ClientConn
	mu    sync.Mutex
	next  int // the node tried first: the last one that answered
}

// Outcome is a transaction's decision as the client learned it.
type Outcome = arbiterpb.Outcome

// New dials every address (lazily: no call blocks here).
func New(cfg Config) (*Client, error) {
	if len(cfg.Addresses) == 0 {
		return nil, fmt.Errorf("arbiter client: no coordinator addresses given")
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 3 * time.Second
	}
	if cfg.DialOptions == nil {
		cfg.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	c := &Client{cfg: cfg}
	for _, a := range cfg.Addresses {
		cc, err := grpc.NewClient(a, cfg.DialOptions...)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("arbiter client: dial %s: %w", a, err)
		}
		c.conns = append(c.conns, cc)
	}
	return c, nil
}

// Close closes the connections.
func (c *Client) Close() {
	for _, cc := range c.conns {
		_ = cc.Close()
	}
}

// Begin starts a transaction; timeout 0 uses the cluster's default.
func (c *Client) Begin(ctx context.Context, timeout time.Duration) (string, error) {
	req := &arbiterpb.BeginRequest{TimeoutMillis: timeout.Milliseconds(), ClientId: c.cfg.ClientID}
	resp, err := call(ctx, c, func(ctx context.Context, cli arbiterpb.CoordinatorClient) (*arbiterpb.BeginResponse, error) {
		return cli.Begin(ctx, req)
	})
	return resp.GetTxId(), err
}

// Commit asks for the transaction to commit and returns the decision.
func (c *Client) Commit(ctx context.Context, txID string, branches ...*arbiterpb.Branch) (Outcome, error) {
	req := &arbiterpb.CommitRequest{TxId: txID, Branches: branches}
	resp, err := call(ctx, c, func(ctx context.Context, cli arbiterpb.CoordinatorClient) (*arbiterpb.CommitResponse, error) {
		return cli.Commit(ctx, req)
	})
	return resp.GetOutcome(), err
}

// Abort decides ABORT unless a decision exists, and returns the decision.
func (c *Client) Abort(ctx context.Context, txID string) (Outcome, error) {
	req := &arbiterpb.AbortRequest{TxId: txID}
	resp, err := call(ctx, c, func(ctx context.Context, cli arbiterpb.CoordinatorClient) (*arbiterpb.AbortResponse, error) {
		return cli.Abort(ctx, req)
	})
	return resp.GetOutcome(), err
}

// Status reports the transaction as the cluster knows it.
func (c *Client) Status(ctx context.Context, txID string) (*arbiterpb.TxInfo, error) {
	req := &arbiterpb.StatusRequest{TxId: txID}
	resp, err := call(ctx, c, func(ctx context.Context, cli arbiterpb.CoordinatorClient) (*arbiterpb.StatusResponse, error) {
		return cli.Status(ctx, req)
	})
	return resp.GetTx(), err
}

// Cluster asks one node (the first that answers) for its view.
func (c *Client) Cluster(ctx context.Context) (*arbiterpb.ClusterResponse, error) {
	return call(ctx, c, func(ctx context.Context, cli arbiterpb.CoordinatorClient) (*arbiterpb.ClusterResponse, error) {
		return cli.Cluster(ctx, &arbiterpb.ClusterRequest{})
	})
}

// call tries nodes in turn, starting with the last that answered, until one
// gives an answer that is not "try elsewhere" or ctx ends.
func call[Resp any](ctx context.Context, c *Client, f func(context.Context, arbiterpb.CoordinatorClient) (*Resp, error)) (*Resp, error) {
	backoff := 10 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		i := c.pick(attempt)
		actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
		resp, err := f(actx, arbiterpb.NewCoordinatorClient(c.conns[i]))
		cancel()
		if err == nil || !retryable(err) {
			if err == nil {
				c.answered(i)
			}
			return resp, err
		}
		lastErr = err
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(err)
		}
		if attempt%len(c.conns) == len(c.conns)-1 {
			if !sleep(ctx, backoff) {
				return nil, fmt.Errorf("%w: %v (last error: %v)", ErrOutcomeUnknown, ctx.Err(), lastErr)
			}
			backoff = min(backoff*2, 500*time.Millisecond)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v (last error: %v)", ErrOutcomeUnknown, ctx.Err(), lastErr)
		}
	}
}

func (c *Client) pick(attempt int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return (c.next + attempt) % len(c.conns)
}

func (c *Client) answered(i int) {
	c.mu.Lock()
	c.next = i
	c.mu.Unlock()
}

// retryable: the node could not answer, does not lead, or the outcome of
// this attempt is unknown; every call is idempotent, so try again.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Aborted:
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
