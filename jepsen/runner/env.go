package runner

import (
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/jepsen/cluster"
	"github.com/arbiter-tx/arbiter/jepsen/netns"
	"github.com/arbiter-tx/arbiter/jepsen/proxy"
	"github.com/arbiter-tx/arbiter/proto/bankpb"
)

// env is everything a run's workers and nemeses share.
type env struct {
	cfg     Config
	cluster *cluster.Cluster
	net     *netns.Net        // nil on loopback
	pg      *cluster.Postgres // nil unless Config.Postgres
	proxies map[string]*proxy.Proxy
	cli     *client.Client
	banks   []bankpb.BankClient
	conns   []*grpc.ClientConn
	rec     *recorder
	retries atomic.Int64 // client attempts retried (no answer, not leader, ...)

	mu   sync.Mutex
	down map[string]bool // processes a nemesis stopped on purpose
}

// nsNetwork adapts netns.Net to cluster.Network.
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

// advertise puts a proxy in front of a bank: coordinators reach the bank
// through it, so latency and loss can be injected on that link.
func (e *env) advertise(bank, addr string) (string, error) {
	p, err := proxy.New(e.controlHost()+":0", addr)
	if err != nil {
		return "", fmt.Errorf("proxy for %s: %w", bank, err)
	}
	e.proxies[bank] = p
	return p.Addr(), nil
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
	for _, p := range e.proxies {
		_ = p.Close()
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

func (e *env) proc(name string) *cluster.Proc {
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
