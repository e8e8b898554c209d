package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

type cliFlags struct {
	addrs  string
	output string
}

func (c *cliFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.addrs, "addr", "127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003", "coordinator gRPC addresses, comma-separated")
	cmd.Flags().StringVar(&c.output, "output", "table", "output format: table or json")
}

func (c *cliFlags) each(fn func(addr string, cli arbiterpb.CoordinatorClient) error) error {
	var errs []string
	for _, a := range strings.Split(c.addrs, ",") {
		cc, err := grpc.NewClient(a, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		err = fn(a, arbiterpb.NewCoordinatorClient(cc))
		_ = cc.Close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", a, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func statusCmd() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every node's view of the cluster: leader, term, indexes, open transactions",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd.Flags()); err != nil {
				return err
			}
			var rows []*arbiterpb.ClusterResponse
			err := f.each(func(addr string, cli arbiterpb.CoordinatorClient) error {
				ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
				defer cancel()
				r, err := cli.Cluster(ctx, &arbiterpb.ClusterRequest{})
				if err == nil {
					rows = append(rows, r)
				}
				return err
			})
			printStatus(f.output, rows)
			return err
		},
	}
	f.register(cmd)
	return cmd
}

func printStatus(format string, rows []*arbiterpb.ClusterResponse) {
	if format == "json" {
		_ = json.NewEncoder(os.Stdout).Encode(rows)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tSTATE\tLEADER\tTERM\tCOMMIT\tAPPLIED\tACTIVE\tUNFINISHED")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", r.GetNodeId(), r.GetState(), r.GetLeaderId(),
			r.GetTerm(), r.GetCommitIndex(), r.GetAppliedIndex(), r.GetActive(), r.GetUnfinished())
	}
	_ = w.Flush()
}

func txCmd() *cobra.Command {
	tx := &cobra.Command{Use: "tx", Short: "Inspect transactions"}
	var f cliFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List open transactions (undecided, and decided but not yet acknowledged by every participant)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd.Flags()); err != nil {
				return err
			}
			f.addrs = strings.Split(f.addrs, ",")[0]
			return f.each(func(_ string, cli arbiterpb.CoordinatorClient) error {
				ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
				defer cancel()
				r, err := cli.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{})
				if err == nil {
					printTxs(f.output, r.GetTxs())
				}
				return err
			})
		},
	}
	f.register(list)
	tx.AddCommand(list)
	return tx
}

func printTxs(format string, txs []*arbiterpb.TxInfo) {
	if format == "json" {
		_ = json.NewEncoder(os.Stdout).Encode(txs)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TX\tSTATE\tDEADLINE\tPARTICIPANTS")
	for _, t := range txs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.GetTxId(), t.GetState(),
			time.Unix(0, t.GetDeadlineUnixNanos()).Format(time.RFC3339), strings.Join(t.GetParticipants(), ","))
	}
	_ = w.Flush()
}
