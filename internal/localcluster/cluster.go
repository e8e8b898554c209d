package localcluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// Options shape a local cluster.
type Options struct {
	// Dir holds every node's data directory and log file.
	Dir string
	// BinDir holds the arbiter and bank binaries (see Build).
	BinDir string
	// Banks is the number of bank participants (default 3).
	Banks int
	// Coordinators is the number of coordinator nodes (default 3; 1 runs a
	// single-node Raft cluster).
	Coordinators int
	// Accounts per bank and their opening balance.
	Accounts int
	Opening  int64
	// LogLevel for every process.
	LogLevel string
	// CoordEnv and BankEnv are extra environment variables (failpoints).
	CoordEnv, BankEnv []string
	// LogStore is every coordinator's --log-store (boltdb or wal); empty
	// leaves arbiter serve's default.
	LogStore string
	// CoordArgs are extra arguments for every coordinator.
	CoordArgs []string
	// CoordArgsFor, if set, gives extra arguments for one coordinator
	// (for instance a --pprof-addr of its own).
	CoordArgsFor func(coord string) []string
	// BankArgs, if set, gives extra arguments for one bank (for instance
	// --postgres DSN, each bank its own database).
	BankArgs func(bank string) []string
	// Net places the processes; nil means all on 127.0.0.1.
	Net Network
	// Insecure runs every process in plaintext (--insecure). By default
	// the cluster makes a CA in Dir/certs and every process uses mutual
	// TLS; clients get certificates with Cluster.DialOption.
	Insecure bool
	// Expose, if set, is called once for every service a process listens
	// on (a coordinator's Raft and gRPC addresses, a bank's gRPC address)
	// and returns the address every other process dials instead (a proxy
	// in front of it, see jepsen/proxy.Mesh). Coordinators then advertise
	// their exposed Raft address (--raft-advertise) and list each other's
	// exposed addresses in --peers, banks register their exposed address
	// (--advertise) and dial the coordinators' exposed gRPC addresses. The
	// harness itself still reaches every process at Proc.Addr.
	Expose func(node, addr string) (string, error)
	// OutboxNATS, when set, adds an outbox participant named OutboxID
	// (the bank binary with --outbox-nats OutboxNATS): its branches
	// publish messages to that NATS server's JetStream (participant/outbox).
	OutboxNATS string
}

// OutboxID is the participant ID of the outbox (Options.OutboxNATS).
const OutboxID = "events"

// Network says where each process listens and how it is started: on
// loopback, or inside its own network namespace (package jepsen/netns).
type Network interface {
	// Host is the IP address name listens on and is dialled at.
	Host(name string) string
	// Command runs bin inside name's network.
	Command(name, bin string, args ...string) *exec.Cmd
}

// Loopback runs every process on 127.0.0.1.
type Loopback struct{}

// Host implements Network.
func (Loopback) Host(string) string { return "127.0.0.1" }

// Command implements Network.
func (Loopback) Command(_ string, bin string, args ...string) *exec.Cmd {
	return exec.Command(bin, args...)
}

// Cluster is the coordinator processes (three by default) and the bank
// processes.
type Cluster struct {
	Coords []*Proc
	Banks  []*Proc
	// Outbox is the outbox participant (nil without Options.OutboxNATS).
	Outbox *Proc
	opts   Options

	ca      *security.CA // nil with Options.Insecure
	certDir string
	hosts   []string
	admin   *security.Source // used by the cluster's own queries

	coordDial []string // the coordinators' gRPC addresses as other processes dial them
	exposed   []string // every address handed out by Options.Expose
}

// Build compiles the arbiter and bank binaries into binDir. It runs from
// the module root so that it works from any working directory inside it.
func Build(ctx context.Context, binDir string, tags ...string) error {
	return BuildCommands(ctx, binDir, []string{"arbiter", "bank"}, tags...)
}

// BuildCommands compiles ./cmd/<name> for each name into binDir, like Build.
func BuildCommands(ctx context.Context, binDir string, names []string, tags ...string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		args := []string{"build", "-o", filepath.Join(binDir, name)}
		if len(tags) > 0 {
			args = append(args, "-tags", strings.Join(tags, ","))
		}
		cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/"+name)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, out)
		}
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run this from inside the arbiter module")
	}
	return filepath.Dir(mod), nil
}

// New lays out the processes (ports, directories) without starting them.
func New(opts Options) (*Cluster, error) {
	if opts.Banks == 0 {
		opts.Banks = 3
	}
	if opts.Coordinators == 0 {
		opts.Coordinators = 3
	}
	if opts.Net == nil {
		opts.Net = Loopback{}
	}
	nc := opts.Coordinators
	ports, err := freePorts(2*nc + opts.Banks + 1)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts}
	if err := c.layoutCoords(ports); err != nil {
		return nil, err
	}
	for i := range opts.Banks {
		if err := c.layoutBank(fmt.Sprintf("bank%d", i+1), ports[2*nc+i]); err != nil {
			return nil, err
		}
	}
	if opts.OutboxNATS != "" {
		if err := c.layoutBank(OutboxID, ports[2*nc+opts.Banks]); err != nil {
			return nil, err
		}
		c.Outbox, c.Banks = c.Banks[len(c.Banks)-1], c.Banks[:len(c.Banks)-1]
		c.Outbox.args = append(c.Outbox.args, "--outbox-nats", opts.OutboxNATS)
	}
	return c, c.setupTLS(c.exposed)
}

// layoutCoords lays out the coordinators; ports holds a Raft and a gRPC
// port per coordinator.
func (c *Cluster) layoutCoords(ports []int) error {
	var peers, raftAdv []string
	for i := range c.opts.Coordinators {
		id := fmt.Sprintf("n%d", i+1)
		host := c.opts.Net.Host(id)
		raftAddr, err := c.expose(id, fmt.Sprintf("%s:%d", host, ports[2*i]))
		if err != nil {
			return err
		}
		grpcAddr, err := c.expose(id, fmt.Sprintf("%s:%d", host, ports[2*i+1]))
		if err != nil {
			return err
		}
		peers = append(peers, id+"="+raftAddr+"/"+grpcAddr)
		raftAdv = append(raftAdv, raftAddr)
		c.coordDial = append(c.coordDial, grpcAddr)
	}
	for i := range c.opts.Coordinators {
		id := fmt.Sprintf("n%d", i+1)
		host := c.opts.Net.Host(id)
		p := c.proc(id, fmt.Sprintf("%s:%d", host, ports[2*i+1]), "arbiter", c.opts.CoordEnv)
		p.args = append([]string{"serve", "--id", id, "--data-dir", p.DataDir, "--peers", strings.Join(peers, ","),
			"--log-level", c.opts.LogLevel}, c.opts.CoordArgs...)
		if c.opts.LogStore != "" {
			p.args = append(p.args, "--log-store", c.opts.LogStore)
		}
		if c.opts.Expose != nil {
			p.args = append(p.args, "--raft-addr", fmt.Sprintf("%s:%d", host, ports[2*i]),
				"--raft-advertise", raftAdv[i], "--grpc-addr", p.Addr)
		}
		if c.opts.CoordArgsFor != nil {
			p.args = append(p.args, c.opts.CoordArgsFor(id)...)
		}
		c.Coords = append(c.Coords, p)
	}
	return nil
}

func (c *Cluster) layoutBank(id string, port int) error {
	p := c.proc(id, fmt.Sprintf("%s:%d", c.opts.Net.Host(id), port), "bank", c.opts.BankEnv)
	p.args = []string{"--id", id, "--listen", p.Addr, "--data-dir", p.DataDir,
		"--coordinators", strings.Join(c.coordDial, ","), "--accounts", fmt.Sprint(c.opts.Accounts),
		"--opening-balance", fmt.Sprint(c.opts.Opening), "--log-level", c.opts.LogLevel}
	if c.opts.BankArgs != nil {
		p.args = append(p.args, c.opts.BankArgs(id)...)
	}
	if c.opts.Expose != nil {
		adv, err := c.expose(id, p.Addr)
		if err != nil {
			return err
		}
		p.args = append(p.args, "--advertise", adv)
	}
	c.Banks = append(c.Banks, p)
	return nil
}

// expose returns the address others dial for node's service at addr.
func (c *Cluster) expose(node, addr string) (string, error) {
	if c.opts.Expose == nil {
		return addr, nil
	}
	out, err := c.opts.Expose(node, addr)
	if err != nil {
		return "", err
	}
	c.exposed = append(c.exposed, out)
	return out, nil
}

func (c *Cluster) proc(name, addr, bin string, env []string) *Proc {
	return &Proc{
		Name: name, Addr: addr, DataDir: filepath.Join(c.opts.Dir, name),
		LogPath: filepath.Join(c.opts.Dir, name+".log"), bin: filepath.Join(c.opts.BinDir, bin), env: env,
		net: c.opts.Net,
	}
}

// Start starts every process.
func (c *Cluster) Start() error {
	for _, p := range c.All() {
		if err := p.Start(); err != nil {
			c.Stop()
			return err
		}
	}
	return nil
}

// Stop stops every process (SIGTERM, then SIGKILL).
func (c *Cluster) Stop() {
	for _, p := range c.All() {
		_ = p.Stop(3 * time.Second)
	}
}

// All lists coordinators, banks, then the outbox (if any).
func (c *Cluster) All() []*Proc {
	all := append(append([]*Proc{}, c.Coords...), c.Banks...)
	if c.Outbox != nil {
		all = append(all, c.Outbox)
	}
	return all
}

// CoordAddrs lists the coordinators' gRPC addresses.
func (c *Cluster) CoordAddrs() []string {
	var out []string
	for _, p := range c.Coords {
		out = append(out, p.Addr)
	}
	return out
}

// DialCoordAddrs lists the coordinators' gRPC addresses as other
// processes dial them (through Options.Expose; CoordAddrs without it).
func (c *Cluster) DialCoordAddrs() []string { return append([]string(nil), c.coordDial...) }

// freePorts picks n distinct loopback ports that are free now, below the
// kernel's ephemeral range (ip_local_port_range): a port from that range
// can be taken by any outgoing connection, or any listener on port 0, in
// the moment between picking it and the process binding it, and the
// process then fails to start. Below the range only another picker of
// fixed ports can collide, and the pick is random.
func freePorts(n int) ([]int, error) {
	lo, hi := 20000, ephemeralStart()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("no %d free ports in %d-%d", n, lo, hi-1)
		}
		port := lo + rand.IntN(hi-lo)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports, nil
}

// ephemeralStart is the first port of the kernel's ephemeral range (32768
// when it cannot be read, Linux's default), at least 21000.
func ephemeralStart() int {
	start := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				start = v
			}
		}
	}
	return max(start, 21000)
}

// FreePorts asks the kernel for n distinct free loopback ports (for
// processes started with NewProc).
func FreePorts(n int) ([]int, error) { return freePorts(n) }
