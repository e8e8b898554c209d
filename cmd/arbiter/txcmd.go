package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// txCmd groups the transaction commands: list, show, and the operator
// actions retry and resolve (admincmd.go).
func txCmd() *cobra.Command {
	tx := &cobra.Command{Use: "tx", Short: "Inspect transactions and act on stuck ones"}
	tx.AddCommand(txListCmd(), txShowCmd(), txRetryCmd(), txResolveCmd(), txWatchCmd())
	return tx
}

func txListCmd() *cobra.Command {
	var f cliFlags
	var filt txFilter
	var showProgress bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List open transactions (undecided, and decided but not yet acknowledged by every participant)",
		Long: `List the open transactions in one node's table (the first --addr that
answers), page by page, with progress on stderr for a long listing on a
terminal or with --progress. Filters apply client-side. Categories: active (undecided, before
its deadline), committing (decided, phase 2 running, before its deadline),
in-doubt (still open after its deadline: an operator should look).
OVERDUE is the time since the deadline (negative: time left).`,
		Example: `  arbiter tx list --state in-doubt
  arbiter tx list --participant bank1 --min-age 1m --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd, &f, filt.validate); err != nil {
				return err
			}
			f.timeout = listTimeout
			return f.first(cmd.Context(), func(ctx context.Context, cli arbiterpb.CoordinatorClient) error {
				now := time.Now()
				filter := func(txs []*arbiterpb.TxInfo) []*arbiterpb.TxInfo { return filt.apply(txs, now) }
				txs, err := listAll(ctx, rpcPages(cli), tableSize(ctx, cli), filter, newProgress(os.Stderr, showProgress), os.Stderr)
				if err != nil {
					return err
				}
				return writeTxs(os.Stdout, f.output, txs, now)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&showProgress, "progress", false, "report progress on stderr page by page (shown anyway on a terminal for a long listing)")
	cmd.Flags().StringVar(&filt.state, "state", "", "only this category: active, committing or in-doubt")
	cmd.Flags().DurationVar(&filt.minAge, "min-age", 0, "only transactions at least this long past their deadline (e.g. 30s)")
	cmd.Flags().StringVar(&filt.participant, "participant", "", "only transactions that include this participant ID")
	return cmd
}

func txShowCmd() *cobra.Command {
	var f cliFlags
	var local bool
	cmd := &cobra.Command{
		Use:   "show TX_ID",
		Short: "Show one transaction: its record, each participant's vote, acknowledgement and retries, and a timeline",
		Long: `Show one transaction: state, deadline, participants, whether phase 2
finished, the decision's log index; and, from the leader that ran it, each
participant's vote, prepare attempts, phase-2 acknowledgement and retries,
and a timeline. Traces are kept in the leader's memory (its most recent
transactions): after a leader change, ask the earlier leader with --local.`,
		Example: `  arbiter tx show 01J9Z6K3V2M8Q4
  arbiter tx show 01J9Z6K3V2M8Q4 --local --addr 127.0.0.1:8002 --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.admin(cmd, func(ctx context.Context, cli arbiterpb.AdminClient) error {
				r, err := cli.TraceTx(ctx, &arbiterpb.TraceTxRequest{TxId: args[0], Local: local})
				if err != nil {
					return err
				}
				return writeTrace(os.Stdout, f.output, args[0], r, time.Now())
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&local, "local", false, "answer from the first --addr node's memory instead of the leader's (a trace an earlier leader kept)")
	return cmd
}

// prepare applies ARBITER_* environment defaults and checks the flags.
func prepare(cmd *cobra.Command, f *cliFlags, check func() error) error {
	if err := envDefaults(cmd.Flags()); err != nil {
		return err
	}
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if check != nil {
		return check()
	}
	return nil
}

// first calls fn on each --addr in turn until one answers: it moves on only
// when a node is unreachable or slow, and returns every error if none answers.
func (c *cliFlags) first(ctx context.Context, fn func(context.Context, arbiterpb.CoordinatorClient) error) error {
	return c.firstConn(ctx, func(ctx context.Context, cc grpc.ClientConnInterface) error {
		return fn(ctx, arbiterpb.NewCoordinatorClient(cc))
	})
}

// firstConn is first for any service on the coordinators' gRPC port.
func (c *cliFlags) firstConn(ctx context.Context, fn func(context.Context, grpc.ClientConnInterface) error) error {
	src, err := c.tls.load(nil)
	if err != nil {
		return err
	}
	var errs []string
	for _, a := range strings.Split(c.addrs, ",") {
		err := callOne(ctx, a, src, c.callTimeout(), fn)
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			return err
		}
		errs = append(errs, fmt.Sprintf("%s: %v", a, err))
	}
	return fmt.Errorf("no coordinator answered: %s", strings.Join(errs, "; "))
}

// callTimeout bounds one command's calls to a node: five seconds unless
// the command set timeout (a listing of many pages).
func (c *cliFlags) callTimeout() time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return 5 * time.Second
}

// callOne dials addr and runs fn with the deadline given.
func callOne(ctx context.Context, addr string, src *security.Source, timeout time.Duration, fn func(context.Context, grpc.ClientConnInterface) error) error {
	cc, err := grpc.NewClient(strings.TrimSpace(addr), security.DialOption(src))
	if err != nil {
		return err
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fn(ctx, cc)
}
