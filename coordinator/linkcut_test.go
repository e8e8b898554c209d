package coordinator_test

import (
	"context"
	"net"
	"sync"

	"google.golang.org/grpc"
)

// linkCuts cuts, in this process, the links from one coordinator node to
// participant addresses, one way (node → participant), as an iptables DROP
// on the node's outgoing packets would: the node's open connections to
// them are closed and its new ones hang until the caller gives up, so its
// calls time out. Calls from the participants to the node are untouched.
type linkCuts struct {
	mu    sync.Mutex
	cut   map[string]map[string]bool          // node -> participant address -> cut
	conns map[string]map[net.Conn]string      // node -> open connection -> address
	wake  map[string]map[string]chan struct{} // node -> address -> closed when healed
}

func newLinkCuts() *linkCuts {
	return &linkCuts{cut: map[string]map[string]bool{}, conns: map[string]map[net.Conn]string{}, wake: map[string]map[string]chan struct{}{}}
}

// dialer is node's dial option: every connection it makes goes through it.
func (l *linkCuts) dialer(node string) grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		for {
			l.mu.Lock()
			blocked := l.cut[node][addr]
			wake := l.wakeFor(node, addr)
			l.mu.Unlock()
			if !blocked {
				break
			}
			select { // a dropped SYN: no answer until the caller gives up
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-wake:
			}
		}
		cn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.conns[node] == nil {
			l.conns[node] = map[net.Conn]string{}
		}
		l.conns[node][cn] = addr
		return cn, nil
	})
}

func (l *linkCuts) wakeFor(node, addr string) chan struct{} {
	if l.wake[node] == nil {
		l.wake[node] = map[string]chan struct{}{}
	}
	if l.wake[node][addr] == nil {
		l.wake[node][addr] = make(chan struct{})
	}
	return l.wake[node][addr]
}

// set cuts (or heals) the links from node to addrs.
func (l *linkCuts) set(node string, cut bool, addrs ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut[node] == nil {
		l.cut[node] = map[string]bool{}
	}
	for _, a := range addrs {
		l.cut[node][a] = cut
		if !cut {
			close(l.wakeFor(node, a))
			l.wake[node][a] = nil
			continue
		}
		for cn, to := range l.conns[node] {
			if to == a {
				_ = cn.Close()
				delete(l.conns[node], cn)
			}
		}
	}
}

// healAll heals every cut (test cleanup: no dial stays parked).
func (l *linkCuts) healAll() {
	l.mu.Lock()
	var nodes = map[string][]string{}
	for n, m := range l.cut {
		for a, c := range m {
			if c {
				nodes[n] = append(nodes[n], a)
			}
		}
	}
	l.mu.Unlock()
	for n, as := range nodes {
		l.set(n, false, as...)
	}
}
