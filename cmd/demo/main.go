// Command demo runs Arbiter end to end on one machine: it builds the
// binaries, starts three coordinator processes and three bank participants
// on loopback, runs concurrent cross-bank transfers for a while, SIGKILLs
// and restarts a participant and the coordinator leader along the way, then
// waits for everything to settle and checks that money was conserved and
// nothing is left in doubt. It exits non-zero if not.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/cluster"
)

type options struct {
	duration    time.Duration
	concurrency int
	accounts    int
	dir         string
	keep        bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long the transfer workload runs")
	flag.IntVar(&o.concurrency, "concurrency", 8, "concurrent client workers")
	flag.IntVar(&o.accounts, "accounts", 10, "accounts per bank")
	flag.StringVar(&o.dir, "dir", "", "directory for data and logs (default: a new temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory after a successful run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (bool, error) {
	dir, err := workDir(o.dir)
	if err != nil {
		return false, err
	}
	fmt.Printf("demo: building binaries; data and logs in %s\n", dir)
	if err := cluster.Build(ctx, filepath.Join(dir, "bin")); err != nil {
		return false, err
	}
	c, err := cluster.New(cluster.Options{Dir: dir, BinDir: filepath.Join(dir, "bin"), Accounts: o.accounts, Opening: 1000, LogLevel: "info"})
	if err != nil {
		return false, err
	}
	if err := c.Start(); err != nil {
		return false, err
	}
	defer c.Stop()
	fmt.Println("demo: started coordinators n1 n2 n3 and participants bank1 bank2 bank3")
	fmt.Printf("demo: every connection (client, Raft, coordinator-participant) uses mutual TLS; CA and certificates in %s\n", c.CertDir())
	s, err := runScenario(ctx, c, o)
	if err != nil {
		fmt.Printf("demo: logs are in %s\n", dir)
		return false, err
	}
	s.print()
	if s.ok() && !o.keep && o.dir == "" {
		c.Stop()
		_ = os.RemoveAll(dir)
	} else {
		fmt.Printf("demo: data and logs kept in %s\n", dir)
	}
	return s.ok(), nil
}

func workDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "arbiter-demo-")
	}
	return dir, os.MkdirAll(dir, 0o755)
}
