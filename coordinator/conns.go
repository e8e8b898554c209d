package coordinator

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// connPool keeps one gRPC connection per address, created lazily.
type connPool struct {
	opts  []grpc.DialOption
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func newConnPool(opts []grpc.DialOption) *connPool {
	return &connPool{opts: opts, conns: make(map[string]*grpc.ClientConn)}
}

func (p *connPool) get(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cc, ok := p.conns[addr]; ok {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, p.opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	p.conns[addr] = cc
	return cc, nil
}

func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, cc := range p.conns {
		_ = cc.Close()
		delete(p.conns, addr)
	}
}

// resetConnectBackoff makes the connections to these participants
// reconnect now instead of after gRPC's reconnect backoff, and waits (at
// most RPCTimeout each) until a failed one is trying again: a call made
// while it still reports the old failure would fail at once.
func (c *Coordinator) resetConnectBackoff(ctx context.Context, pids []string) {
	for _, pid := range pids {
		addr, ok := c.node.FSM().Participant(pid)
		if !ok {
			continue
		}
		cc, err := c.conns.get(addr)
		if err != nil {
			continue
		}
		cc.ResetConnectBackoff()
		if cc.GetState() == connectivity.TransientFailure {
			wctx, cancel := context.WithTimeout(ctx, c.cfg.RPCTimeout)
			cc.WaitForStateChange(wctx, connectivity.TransientFailure)
			cancel()
		}
	}
}

// participant returns a client for a registered participant.
func (c *Coordinator) participant(pid string) (arbiterpb.ParticipantClient, error) {
	addr, ok := c.node.FSM().Participant(pid)
	if !ok {
		return nil, fmt.Errorf("%w: %q has not registered", ErrUnknownParticipant, pid)
	}
	cc, err := c.conns.get(addr)
	if err != nil {
		return nil, err
	}
	return arbiterpb.NewParticipantClient(cc), nil
}
