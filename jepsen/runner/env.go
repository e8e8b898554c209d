package runner

import (
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/broker"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/netns"
	"github.com/arbiter-tx/arbiter/jepsen/proxy"
)

// env is everything a run's workers and nemeses share.
type env struct {
	cfg     Config
	cluster *localcluster.Cluster
	net     *netns.Net     // nil in proxy mode (loopback)
	db      bankDatabases  // nil unless Config.Postgres or Config.MySQL
	broker  *broker.Broker // nil unless the events workload
	mesh    *proxy.Mesh    // a proxy in front of every service; every link has its faults
	procs   atomic.Pointer[localcluster.Cluster]
	cli     *client.Client
	banks   []bankpb.BankClient
	conns   []*grpc.ClientConn
	rec     *recorder
	retries atomic.Int64 // client attempts retried (no answer, not leader, ...)

	mu   sync.Mutex
	down map[string]bool // processes a nemesis stopped on purpose
}

// nsNetwork adapts netns.Net to localcluster.Network.
type nsNetwork struct{ n *netns.Net }

func (w nsNetwork) Host(name string) string { return w.n.IP(name) }
func (w nsNetwork) Command(name, bin string, args ...string) *exec.Cmd {
	return w.n.Command(name, bin, args...)
}

// controlHost is where the harness (and its proxies) listen.
func (e *env) controlHost() string {
	if e.net != nil {
		return e.net.ControlIP()
	}
	return "127.0.0.1"
}

// newMesh puts the mesh of proxies in place: every process dials every
// other one through it (localcluster.Options.Expose), so partitions, latency and
// loss act per link in both modes. Sources are told apart by address in
// network namespaces (each node has its own) and by socket owner on
// loopback (everyone dials from 127.0.0.1).
func (e *env) newMesh() {
	classify := e.ownerOf
	if e.net != nil {
		byIP := map[string]string{}
		for _, name := range e.net.Names() {
			byIP[e.net.IP(name)] = name
		}
		classify = func(a net.Addr) string {
			if ta, ok := a.(*net.TCPAddr); ok {
				return byIP[ta.IP.String()]
			}
			return ""
		}
	}
	e.mesh = proxy.NewMesh(e.controlHost(), classify)
}

// ownerOf names the cluster process that owns the remote end of a
// loopback connection, "" for the harness or an unknown process (never
// cut, like the control node in network namespaces).
func (e *env) ownerOf(remote net.Addr) string {
	c := e.procs.Load()
	if c == nil {
		return ""
	}
	pids := map[int]string{}
	for _, p := range c.All() {
		if pid := p.Pid(); pid != 0 {
			pids[pid] = p.Name
		}
	}
	name, err := proxy.SocketOwner(remote, pids)
	if err != nil {
		return ""
	}
	return name
}

func (e *env) dialBanks() error {
	creds, err := e.cluster.DialOption("jepsen")
	if err != nil {
		return err
	}
	for _, b := range e.cluster.Banks {
		cc, err := grpc.NewClient(b.Addr, creds,
			grpc.WithUnaryInterceptor(client.UnaryClientInterceptor()))
		if err != nil {
			return err
		}
		e.conns = append(e.conns, cc)
		e.banks = append(e.banks, bankpb.NewBankClient(cc))
	}
	return nil
}

func (e *env) bank(name string) bankpb.BankClient {
	for i, b := range e.cluster.Banks {
		if b.Name == name {
			return e.banks[i]
		}
	}
	panic("unknown bank " + name)
}

func (e *env) close() {
	if e.cli != nil {
		e.cli.Close()
	}
	for _, cc := range e.conns {
		_ = cc.Close()
	}
	if e.mesh != nil {
		_ = e.mesh.Close()
	}
}

func (e *env) setDown(name string, down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down[name] = down
}

func (e *env) isDown(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.down[name]
}

func (e *env) proc(name string) *localcluster.Proc {
	for _, p := range e.cluster.All() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }

func applyReq(acct string, delta int64) *bankpb.ApplyRequest {
	return &bankpb.ApplyRequest{Ops: []*bankpb.Op{{Account: acct, Delta: delta}}}
}
