package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/arbiter-tx/arbiter/internal/broker"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/raftlog"
)

type options struct {
	duration    time.Duration
	concurrency int
	accounts    int
	dir         string
	keep        bool
	postgres    bool
	logStore    string
	mysql       bool
	events      bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long the transfer workload runs")
	flag.IntVar(&o.concurrency, "concurrency", 8, "concurrent client workers")
	flag.IntVar(&o.accounts, "accounts", 10, "accounts per bank")
	flag.StringVar(&o.dir, "dir", "", "directory for data and logs (default: a new temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory after a successful run")
	flag.BoolVar(&o.postgres, "postgres", false, "run the banks on PostgreSQL: one server per bank, started and removed by the demo (needs the PostgreSQL server binaries)")
	flag.StringVar(&o.logStore, "log-store", "", "the coordinators' Raft log store: boltdb or wal (arbiter serve --log-store); empty: arbiter serve's default")
	flag.BoolVar(&o.mysql, "mysql", false, "run the banks on MariaDB/MySQL (XA): one server per bank, started and removed by the demo (needs the MariaDB server binaries: apt-get install mariadb-server)")
	flag.BoolVar(&o.events, "events", false, "add an outbox participant: every transfer's third branch publishes transfer.completed to NATS JetStream (a nats-server in the demo's process), a consumer must receive exactly the committed transfers; the outbox is killed and the broker restarted during the run")
	flag.Parse()
	if o.postgres && o.mysql {
		fmt.Fprintln(os.Stderr, "demo: --postgres and --mysql both set: choose one database")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	if !s.ok() {
		os.Exit(1)
	}
}

// run runs the demo and returns its summary (nil with an error that kept
// it from finishing).
func run(ctx context.Context, o options) (*summary, error) {
	if o.logStore != "" && !slices.Contains(raftlog.LogStores(), o.logStore) {
		return nil, fmt.Errorf("--log-store %q: want one of %s", o.logStore, strings.Join(raftlog.LogStores(), ", "))
	}
	dir, err := workDir(o.dir)
	if err != nil {
		return nil, err
	}
	fmt.Printf("demo: building binaries; data and logs in %s\n", dir)
	if err := localcluster.Build(ctx, filepath.Join(dir, "bin")); err != nil {
		return nil, err
	}
	copts := localcluster.Options{Dir: dir, BinDir: filepath.Join(dir, "bin"), Accounts: o.accounts, Opening: 1000, LogLevel: "info", LogStore: o.logStore}
	if o.postgres {
		pg, err := startPostgres()
		if err != nil {
			return nil, err
		}
		defer closePostgres(pg) // after the banks stop (deferred below)
		copts.BankArgs = pg.BankArgs
	}
	if o.mysql {
		my, err := startMySQL()
		if err != nil {
			return nil, err
		}
		defer closeMySQL(my) // after the banks stop (deferred below)
		copts.BankArgs = my.BankArgs
	}
	var b *broker.Broker
	if o.events {
		if b, err = broker.Start(filepath.Join(dir, "nats")); err != nil {
			return nil, err
		}
		defer b.Stop()
		copts.OutboxNATS = b.URL()
		fmt.Printf("demo: NATS JetStream broker (nats-server, in this process) at %s\n", b.URL())
	}
	c, err := localcluster.New(copts)
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	defer c.Stop()
	fmt.Println("demo: started coordinators n1 n2 n3 and participants bank1 bank2 bank3" + storeNote(o))
	fmt.Printf("demo: every connection (client, Raft, coordinator-participant) uses mutual TLS; CA and certificates in %s\n", c.CertDir())
	s, err := runScenario(ctx, c, b, o)
	if err != nil {
		fmt.Printf("demo: logs are in %s\n", dir)
		return nil, err
	}
	s.print()
	if s.ok() && !o.keep && o.dir == "" {
		c.Stop()
		_ = os.RemoveAll(dir)
	} else {
		fmt.Printf("demo: data and logs kept in %s\n", dir)
	}
	return s, nil
}

func workDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "arbiter-demo-")
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// errNoPostgres marks a failure to start the PostgreSQL servers.
var errNoPostgres = errors.New("demo --postgres: cannot start PostgreSQL")

func startPostgres() (*localcluster.Postgres, error) {
	fmt.Println("demo: starting three PostgreSQL servers (one per bank, max_prepared_transactions=64)")
	pg, err := localcluster.StartPostgres([]string{"bank1", "bank2", "bank3"}, "127.0.0.1")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoPostgres, err)
	}
	return pg, nil
}

func closePostgres(pg *localcluster.Postgres) {
	if err := pg.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "demo: stopping PostgreSQL:", err)
		return
	}
	fmt.Println("demo: PostgreSQL servers stopped and removed")
}

// errNoMySQL marks a failure to start the MariaDB servers.
var errNoMySQL = errors.New("demo --mysql: cannot start MariaDB")

func startMySQL() (*localcluster.MySQL, error) {
	fmt.Println("demo: starting three MariaDB servers (one per bank, binlog on, innodb_flush_log_at_trx_commit=1, sync_binlog=1)")
	my, err := localcluster.StartMySQL([]string{"bank1", "bank2", "bank3"}, "127.0.0.1")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoMySQL, err)
	}
	return my, nil
}

func closeMySQL(my *localcluster.MySQL) {
	if err := my.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "demo: stopping MariaDB:", err)
		return
	}
	fmt.Println("demo: MariaDB servers stopped and removed")
}

func storeNote(o options) string {
	if o.postgres {
		return " (accounts in PostgreSQL, one server per bank)"
	}
	if o.mysql {
		return " (accounts in MariaDB over XA, one server per bank)"
	}
	return ""
}
