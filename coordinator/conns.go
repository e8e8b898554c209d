package coordinator

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// connPool keeps one gRPC connection per address and expected server
// identity, created lazily. With TLS (src set) every connection verifies
// the server it reached: participant/<id> for a participant,
// coordinator/<id> for the leader a call is forwarded to, so an address
// that now serves someone else fails the handshake instead of receiving
// Prepare payloads or decisions meant for another process.
type connPool struct {
	opts  []grpc.DialOption
	src   *security.Source // nil: plaintext (--insecure), no identity check
	mu    sync.Mutex
	conns map[connKey]*grpc.ClientConn
}

type connKey struct {
	addr string
	want security.Identity
}

func newConnPool(opts []grpc.DialOption, src *security.Source) *connPool {
	return &connPool{opts: opts, src: src, conns: make(map[connKey]*grpc.ClientConn)}
}

// get returns the connection to want at addr. The identity check is
// appended after the configured options, so it replaces their transport
// credentials (gRPC applies options in order).
func (p *connPool) get(addr string, want security.Identity) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := connKey{addr: addr, want: want}
	if cc, ok := p.conns[key]; ok {
		return cc, nil
	}
	opts := p.opts
	if p.src != nil {
		opts = append(slices.Clip(opts), security.DialTo(p.src, want))
	}
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s at %s: %w", want, addr, err)
	}
	p.conns[key] = cc
	return cc, nil
}

// participantIdentity is who a participant's server must be.
func participantIdentity(pid string) security.Identity {
	return security.Identity{Role: security.RoleParticipant, ID: pid}
}

func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, cc := range p.conns {
		_ = cc.Close()
		delete(p.conns, key)
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
		cc, err := c.conns.get(addr, participantIdentity(pid))
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
	cc, err := c.conns.get(addr, participantIdentity(pid))
	if err != nil {
		return nil, err
	}
	return arbiterpb.NewParticipantClient(cc), nil
}
