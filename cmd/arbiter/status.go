package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

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
		Short: "Show every node's view of the cluster and its health: leader, term, indexes, open transactions, SERVING or not",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd.Flags()); err != nil {
				return err
			}
			if err := checkOutput(f.output); err != nil {
				return err
			}
			src, err := f.tls.load(nil)
			if err != nil {
				return err
			}
			var rows []nodeStatus
			var errs []string
			for _, a := range strings.Split(f.addrs, ",") {
				row := queryNode(cmd.Context(), strings.TrimSpace(a), src)
				if row.Error != "" {
					errs = append(errs, a+": "+row.Error)
				}
				rows = append(rows, row)
			}
			printStatus(f.output, rows)
			if len(errs) > 0 {
				return fmt.Errorf("%s", strings.Join(errs, "; "))
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// nodeStatus is one node's answer: its view of the cluster and its health
// (the gRPC health service: SERVING once it has a leader and has applied
// the log up to it).
type nodeStatus struct {
	Addr   string `json:"addr"`
	Health string `json:"health"`
	Error  string `json:"error,omitempty"`
	*arbiterpb.ClusterResponse
}

func queryNode(ctx context.Context, addr string, src *security.Source) nodeStatus {
	row := nodeStatus{Addr: addr, Health: "UNREACHABLE"}
	cc, err := grpc.NewClient(addr, security.DialOption(src))
	if err != nil {
		row.Error = err.Error()
		return row
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if h, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		row.Health = h.GetStatus().String()
	}
	r, err := arbiterpb.NewCoordinatorClient(cc).Cluster(ctx, &arbiterpb.ClusterRequest{})
	if err != nil {
		row.Error = err.Error()
		return row
	}
	row.ClusterResponse = r
	return row
}

func printStatus(format string, rows []nodeStatus) {
	if format == "json" {
		_ = json.NewEncoder(os.Stdout).Encode(rows)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tSTATE\tLEADER\tTERM\tCOMMIT\tAPPLIED\tACTIVE\tUNFINISHED\tHEALTH\tREACHES")
	for _, n := range rows {
		if r := n.ClusterResponse; r != nil {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.GetNodeId(), r.GetState(), r.GetLeaderId(),
				r.GetTerm(), r.GetCommitIndex(), r.GetAppliedIndex(), r.GetActive(), r.GetUnfinished(), n.Health, reaches(r))
		} else {
			fmt.Fprintf(w, "%s\tunreachable\t-\t-\t-\t-\t-\t-\t%s\t-\n", n.Addr, n.Health)
		}
	}
	_ = w.Flush()
}

// reaches is a node's view of the participants: "2/3 (down: bank-3
// connection refused for 4s)".
func reaches(r *arbiterpb.ClusterResponse) string {
	out := fmt.Sprintf("%d/%d", len(r.GetReachable()), len(r.GetParticipants()))
	var down []string
	for _, p := range slices.Sorted(maps.Keys(r.GetUnreachable())) {
		down = append(down, p+" "+r.GetUnreachable()[p])
	}
	if len(down) > 0 {
		out += " (down: " + strings.Join(down, "; ") + ")"
	}
	return out
}
