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

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

type cliFlags struct {
	addrs  string
	output string
	tls    tlsFlags
	// timeout bounds the calls to one node (0: five seconds); not a flag.
	timeout time.Duration
}

func (c *cliFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.addrs, "addr", "127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003", "coordinator gRPC addresses, comma-separated")
	cmd.Flags().StringVar(&c.output, "output", "table", "output format: table or json")
	c.tls.register(cmd.Flags(), "an admin identity, arbiter://admin/<name>")
}

func (c *cliFlags) each(fn func(addr string, cli arbiterpb.CoordinatorClient) error) error {
	var errs []string
	src, err := c.tls.load(nil)
	if err != nil {
		return err
	}
	for _, a := range strings.Split(c.addrs, ",") {
		cc, err := grpc.NewClient(a, security.DialOption(src))
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
