package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// healthCmd asks nodes' standard gRPC health service whether they are
// SERVING (a node is once it knows a leader). It exists for probes that
// must speak mutual TLS, which the kubelet's built-in grpc probe cannot.
func healthCmd() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:     "health",
		Short:   "Exit 0 if every --addr reports SERVING on the gRPC health service (for readiness probes)",
		Example: `  arbiter health --addr 127.0.0.1:8000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd, &f, nil); err != nil {
				return err
			}
			src, err := f.tls.load(nil)
			if err != nil {
				return err
			}
			for _, a := range strings.Split(f.addrs, ",") {
				if err := checkHealth(cmd.Context(), strings.TrimSpace(a), src); err != nil {
					return err
				}
				fmt.Println(a, "SERVING")
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// checkHealth returns nil if addr reports SERVING within two seconds.
func checkHealth(ctx context.Context, addr string, src *security.Source) error {
	cc, err := grpc.NewClient(addr, security.DialOption(src))
	if err != nil {
		return err
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s: %s (no known leader)", addr, r.GetStatus())
	}
	return nil
}
