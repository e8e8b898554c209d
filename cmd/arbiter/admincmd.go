package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// The operator actions, served by the Admin service (admin identity
// required). Leader-only actions may be sent to any node: followers forward.

func txRetryCmd() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:     "retry TX_ID",
		Short:   "Resend a decided transaction's decision to its participants now (drops the retry backoff)",
		Example: `  arbiter tx retry 01J9Z6K3V2M8Q4`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.admin(cmd, func(ctx context.Context, cli arbiterpb.AdminClient) error {
				r, err := cli.RetryPhase2(ctx, &arbiterpb.RetryPhase2Request{TxId: args[0]})
				if err != nil {
					return err
				}
				if r.GetFinished() {
					return f.print(r, "%s: phase 2 already finished (%v); nothing to do\n", args[0], r.GetOutcome())
				}
				return f.print(r, "%s: resending %v to %s\n", args[0], r.GetOutcome(), strings.Join(r.GetParticipants(), ", "))
			})
		},
	}
	f.register(cmd)
	return cmd
}

func txResolveCmd() *cobra.Command {
	var f cliFlags
	var commit, abort bool
	cmd := &cobra.Command{
		Use:   "resolve TX_ID (--commit | --abort)",
		Short: "Force the decision of an undecided transaction (refused if it is decided)",
		Long: `Force the decision of an undecided transaction, recorded with the reason
"forced by operator <your identity>", and deliver it. A decided transaction
is refused. --commit applies only to the participants in the record (the
enlisted ones): use it only when you know each of them prepared.`,
		Example: `  arbiter tx resolve 01J9Z6K3V2M8Q4 --abort`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := arbiterpb.Outcome_OUTCOME_ABORT
			if commit {
				out = arbiterpb.Outcome_OUTCOME_COMMIT
			}
			return f.admin(cmd, func(ctx context.Context, cli arbiterpb.AdminClient) error {
				r, err := cli.ForceDecide(ctx, &arbiterpb.ForceDecideRequest{TxId: args[0], Outcome: out})
				if err != nil {
					return err
				}
				if !r.GetForced() {
					return f.print(r, "%s: a normal decision won the race: %v (%s)\n", args[0], r.GetOutcome(), r.GetReason())
				}
				return f.print(r, "%s: decided %v (%s)\n", args[0], r.GetOutcome(), r.GetReason())
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&commit, "commit", false, "decide COMMIT")
	cmd.Flags().BoolVar(&abort, "abort", false, "decide ABORT")
	cmd.MarkFlagsMutuallyExclusive("commit", "abort")
	cmd.MarkFlagsOneRequired("commit", "abort")
	return cmd
}

func membersCmd() *cobra.Command {
	m := &cobra.Command{Use: "members", Short: "Change the Raft membership (on the leader)"}
	m.AddCommand(membersAddCmd(), membersRemoveCmd())
	return m
}

func membersAddCmd() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:   "add ID RAFT_ADDR GRPC_ADDR",
		Short: "Add a voter: a node started with `arbiter serve --join`",
		Long: `Add a voter to the cluster. Start the new node first with
arbiter serve --join (it waits, without bootstrapping, to be added); it then
catches up from the leader. The leader (and the node you asked) learn its
gRPC address now; the other nodes learn it from their own --peers flag, so
add the new node to every node's --peers before their next restart.`,
		Example: `  arbiter members add n4 10.0.0.4:7001 10.0.0.4:8001`,
		Args:    cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.admin(cmd, func(ctx context.Context, cli arbiterpb.AdminClient) error {
				r, err := cli.AddMember(ctx, &arbiterpb.AddMemberRequest{Id: args[0], RaftAddress: args[1], GrpcAddress: args[2]})
				if err != nil {
					return err
				}
				return f.print(r, "added %s; members: %s\n", args[0], memberIDs(r.GetMembers()))
			})
		},
	}
	f.register(cmd)
	return cmd
}

func membersRemoveCmd() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove a server from the Raft configuration",
		Example: `  arbiter members remove n4`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.admin(cmd, func(ctx context.Context, cli arbiterpb.AdminClient) error {
				r, err := cli.RemoveMember(ctx, &arbiterpb.RemoveMemberRequest{Id: args[0]})
				if err != nil {
					return err
				}
				return f.print(r, "removed %s; members: %s\n", args[0], memberIDs(r.GetMembers()))
			})
		},
	}
	f.register(cmd)
	return cmd
}

func snapshotCmd() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:     "snapshot",
		Short:   "Take a Raft snapshot now on the node at --addr (the first one that answers)",
		Example: `  arbiter snapshot --addr 127.0.0.1:8002`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.admin(cmd, func(ctx context.Context, cli arbiterpb.AdminClient) error {
				r, err := cli.Snapshot(ctx, &arbiterpb.SnapshotRequest{})
				if err != nil {
					return err
				}
				return f.print(r, "%s: snapshot taken at applied index %d\n", r.GetNodeId(), r.GetAppliedIndex())
			})
		},
	}
	f.register(cmd)
	return cmd
}

// admin checks the flags and calls fn on the first --addr that answers.
func (c *cliFlags) admin(cmd *cobra.Command, fn func(context.Context, arbiterpb.AdminClient) error) error {
	if err := prepare(cmd, c, nil); err != nil {
		return err
	}
	return c.firstConn(cmd.Context(), func(ctx context.Context, cc grpc.ClientConnInterface) error {
		return fn(ctx, arbiterpb.NewAdminClient(cc))
	})
}

// print writes m as JSON with --output json, else the formatted line.
func (c *cliFlags) print(m proto.Message, format string, args ...any) error {
	if c.output == "json" {
		b, err := protojson.Marshal(m)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(os.Stdout, string(b))
		return err
	}
	_, err := fmt.Fprintf(os.Stdout, format, args...)
	return err
}

func memberIDs(ms []*arbiterpb.Member) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.GetId()
	}
	return strings.Join(ids, ", ")
}
