package client

import (
	"fmt"
	"net"
	"sync"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxLearned bounds the leader addresses a client dials beyond the
// configured ones, so that a stream of odd hints cannot grow it without end.
// Past it, hints are ignored and calls cycle through the known nodes.
const maxLearned = 16

// nodes holds the connections to the coordinators: the configured
// addresses first, then leaders that "not leader" answers named.
type nodes struct {
	dial   []grpc.DialOption
	mu     sync.Mutex
	addrs  []string
	conns  []*grpc.ClientConn
	base   int // how many came from Config.Addresses (learned ones follow)
	next   int // the node tried first: the last that answered or was named leader
	closed bool
}

func newNodes(addrs []string, dial []grpc.DialOption) (*nodes, error) {
	n := &nodes{dial: dial}
	for _, a := range addrs {
		if _, err := n.add(a); err != nil {
			n.close()
			return nil, err
		}
	}
	n.base = len(n.conns)
	return n, nil
}

// add dials addr (lazily) and returns its index; the caller holds mu or
// owns n alone.
func (n *nodes) add(addr string) (int, error) {
	cc, err := grpc.NewClient(addr, n.dial...)
	if err != nil {
		return 0, fmt.Errorf("arbiter client: dial %s: %w", addr, err)
	}
	n.addrs = append(n.addrs, addr)
	n.conns = append(n.conns, cc)
	return len(n.conns) - 1, nil
}

// first is the node a call tries first.
func (n *nodes) first() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.next
}

// conn returns node i's connection and the number of nodes known.
func (n *nodes) conn(i int) (*grpc.ClientConn, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[i], len(n.conns)
}

// count is the number of nodes known.
func (n *nodes) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// prefer makes node i the one calls try first.
func (n *nodes) prefer(i int) {
	n.mu.Lock()
	n.next = i
	n.mu.Unlock()
}

// after chooses the node to try after node i failed with err: the leader
// that err names, if it names one other than i (dialed if new, and then
// preferred by later calls too), else the next node in turn. hinted says
// which.
func (n *nodes) after(i int, err error) (next int, hinted bool) {
	if addr := LeaderHint(err); addr != "" {
		if j, ok := n.leader(addr); ok && j != i {
			return j, true
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return (i + 1) % len(n.conns), false
}

// leader returns the index of addr, dialing it if it is new, and makes it
// the node calls try first.
func (n *nodes) leader(addr string) (int, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	j := n.index(addr)
	if j < 0 {
		if n.closed || len(n.conns) >= n.base+maxLearned {
			return 0, false
		}
		var err error
		if j, err = n.add(addr); err != nil {
			return 0, false
		}
	}
	n.next = j
	return j, true
}

func (n *nodes) index(addr string) int {
	for j, a := range n.addrs {
		if a == addr {
			return j
		}
	}
	return -1
}

func (n *nodes) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for _, cc := range n.conns {
		_ = cc.Close()
	}
}

// LeaderHint returns the leader address that err, a coordinator's
// UNAVAILABLE answer, names in its ErrorInfo detail (reason NOT_LEADER,
// metadata leader-addr: coordinator/forward.go), or "" if it names none.
func LeaderHint(err error) string {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return ""
	}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetReason() != "NOT_LEADER" {
			continue
		}
		addr := info.GetMetadata()["leader-addr"]
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return ""
		}
		return addr
	}
	return ""
}
