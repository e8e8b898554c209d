package main

import (
	"context"
	"fmt"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// flow is how the driver runs one transaction.
type flow int

const (
	// flowStandard: one Commit call with the branches (a one-shot
	// transaction, no Begin), standard mode: prepare, then DECIDE.
	flowStandard flow = iota
	// flowParallel: the same call in parallel-commit mode (STAGE
	// replicated while the participants prepare).
	flowParallel
	// flowBegin: Begin, then Commit with the branches (two calls, a BEGIN
	// entry in the log), standard mode.
	flowBegin
)

// suffix names the flow in a row's system name ("" for the default).
func (f flow) suffix() string {
	switch f {
	case flowParallel:
		return " parallel"
	case flowBegin:
		return " begin+commit"
	}
	return ""
}

// run executes one transaction of branches in this flow.
func (f flow) run(ctx context.Context, cli *client.Client, branches []*arbiterpb.Branch) (arbiterpb.Outcome, error) {
	switch f {
	case flowBegin:
		txID, err := cli.Begin(ctx, 0)
		if err != nil {
			return 0, fmt.Errorf("begin: %w", err)
		}
		out, err := cli.Commit(ctx, txID, branches...)
		if err != nil {
			return 0, fmt.Errorf("commit: %w", err)
		}
		return out, nil
	case flowParallel:
		_, out, err := cli.Run(ctx, client.RunOptions{Mode: client.Parallel}, branches...)
		return out, err
	default:
		_, out, err := cli.Run(ctx, client.RunOptions{}, branches...)
		return out, err
	}
}
