package coordinator

import (
	"maps"
	"sync"
)

// memberAddrs maps coordinator Raft server IDs to gRPC addresses, for
// forwarding to the leader. It starts as a copy of Config.Members (the
// --peers flag) and learns members added through Admin.AddMember on the node
// that served the call (the leader, and the follower that forwarded it).
// Other nodes learn a new member's gRPC address only from their own --peers
// flag: the addresses are not in the Raft log.
type memberAddrs struct {
	mu sync.RWMutex
	m  map[string]string
}

func newMemberAddrs(initial map[string]string) *memberAddrs {
	m := maps.Clone(initial)
	if m == nil {
		m = map[string]string{}
	}
	return &memberAddrs{m: m}
}

func (a *memberAddrs) get(id string) (string, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	addr, ok := a.m[id]
	return addr, ok
}

func (a *memberAddrs) set(id, addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m[id] = addr
}

func (a *memberAddrs) remove(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, id)
}
