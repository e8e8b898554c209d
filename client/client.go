package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Errors returned by the client. Calls otherwise return the coordinators'
// gRPC status errors unchanged.
var (
	// ErrOutcomeUnknown means the caller's context ended before any node
	// reported the outcome of a call whose effect may have happened. Ask
	// again with Status or retry Commit with the same ID: both are safe.
	ErrOutcomeUnknown = errors.New("arbiter: outcome unknown")
	// ErrNoAddresses: Config.Addresses is empty.
	ErrNoAddresses = errors.New("arbiter client: no coordinator addresses given")
	// ErrNoCredentials: Config has neither DialOptions (which carry the
	// transport credentials) nor Insecure.
	ErrNoCredentials = errors.New("arbiter client: no transport credentials: set Config.DialOptions " +
		"(client.TLSDialOptions for mutual TLS) or, for plaintext, Config.Insecure")
)

// Config says how to reach the cluster.
type Config struct {
	// Addresses are the coordinators' gRPC addresses; any node will do. A
	// node that does not lead names the leader's address in its answer; the
	// client dials that address too and sends later calls there first.
	Addresses []string
	// ClientID names this client in the transactions it begins.
	ClientID string
	// AttemptTimeout bounds one attempt of a call on one node.
	AttemptTimeout time.Duration
	// OnRetry, if set, is called each time a call is retried after an
	// attempt that could not give an answer (for metrics and tests).
	OnRetry func(err error)
	// DialOptions are the options of every connection and must carry the
	// transport credentials: TLSDialOptions(src) for mutual TLS, with
	// TracingDialOption or interceptors appended as needed.
	DialOptions []grpc.DialOption
	// Insecure allows plaintext. New refuses a Config with neither
	// DialOptions nor Insecure, so that no client talks plaintext by
	// accident. With Insecure, plaintext credentials come first and
	// DialOptions (which then need no credentials) follow them. For local
	// development and tests only, like the binaries' --insecure flag.
	Insecure bool
}

// Client is safe for concurrent use.
type Client struct {
	cfg   Config
	nodes *nodes
}

// Outcome is a transaction's decision as the client learned it.
type Outcome = arbiterpb.Outcome

// New dials every address (lazily: no call blocks here).
func New(cfg Config) (*Client, error) {
	if len(cfg.Addresses) == 0 {
		return nil, ErrNoAddresses
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 3 * time.Second
	}
	dial, err := dialOptions(cfg)
	if err != nil {
		return nil, err
	}
	n, err := newNodes(cfg.Addresses, dial)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, nodes: n}, nil
}

// dialOptions are the connections' options: DialOptions, after plaintext
// credentials if Insecure.
func dialOptions(cfg Config) ([]grpc.DialOption, error) {
	if cfg.Insecure {
		plain := grpc.WithTransportCredentials(insecure.NewCredentials())
		return append([]grpc.DialOption{plain}, cfg.DialOptions...), nil
	}
	if len(cfg.DialOptions) == 0 {
		return nil, ErrNoCredentials
	}
	return cfg.DialOptions, nil
}

// Close closes the connections.
func (c *Client) Close() {
	c.nodes.close()
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
// gives an answer that is not "try elsewhere" or ctx ends. A node that does
// not lead and names the leader sends the next attempt there.
func call[Resp any](ctx context.Context, c *Client, f func(context.Context, arbiterpb.CoordinatorClient) (*Resp, error)) (*Resp, error) {
	r := retry{pause: backoff.New(10*time.Millisecond, maxPause)}
	i := c.nodes.first()
	for {
		cc, known := c.nodes.conn(i)
		actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
		resp, err := f(actx, arbiterpb.NewCoordinatorClient(cc))
		cancel()
		if err == nil {
			c.nodes.prefer(i)
			return resp, nil
		}
		if !retryable(err) {
			return nil, err
		}
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(err)
		}
		var hinted bool
		i, hinted = c.nodes.after(i, err)
		if !r.wait(ctx, hinted, known) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v (last error: %v)", ErrOutcomeUnknown, ctx.Err(), err)
		}
	}
}

// maxPause caps the pause between rounds of attempts. An election takes a
// Raft heartbeat timeout or two (0.3-0.9 s with the coordinator's
// defaults), and the first commit after it waits for the client's next
// round, so a long cap adds its length to every failover (500 ms did);
// a round that finds no leader costs each node one cheap refusal, and
// gRPC does not redial a node that refused until its own reconnect
// backoff, so 100 ms stays light.
const maxPause = 100 * time.Millisecond

// maxHops bounds the leader hints a call follows without pausing, so that
// nodes naming one another (a stale view) cannot make it spin.
const maxHops = 3

// retry paces one call's attempts.
type retry struct {
	pause  *backoff.Backoff
	misses int // failed attempts since the last pause
	hops   int // hints followed since the last pause
}

// wait pauses, with jittered exponential backoff, once every known node has
// failed; an attempt that goes to a leader a hint named goes at once. It
// returns false if ctx ended first.
func (r *retry) wait(ctx context.Context, hinted bool, known int) bool {
	r.misses++
	if hinted && r.hops < maxHops {
		r.hops++
		return true
	}
	if !hinted && r.misses < known {
		return true
	}
	r.misses, r.hops = 0, 0
	return r.pause.Wait(ctx)
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
