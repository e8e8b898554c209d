package main

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// settle waits for every prepared transaction to be resolved and every open
// one to be finished, then reads the final total, asks the cluster what
// became of the transactions whose outcome the client did not learn, and
// checks that every process is up.
func settle(ctx context.Context, c *localcluster.Cluster, cli *client.Client, s *summary) error {
	fmt.Println("demo: workload stopped; waiting for every transaction to be resolved")
	t0 := time.Now()
	waitInDoubt(ctx, c, s, 30*time.Second)
	s.SettleSeconds = time.Since(t0).Seconds()
	after, err := waitTotal(ctx, c)
	if err != nil {
		return err
	}
	s.TotalAfter = after
	for _, id := range s.unknowns {
		if tx, err := cli.Status(ctx, id); err == nil && tx.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED {
			s.UnknownCommitted++
		}
	}
	checkUp(ctx, c, s, 10*time.Second)
	return nil
}

// waitInDoubt polls until nothing is prepared at the banks or open at the
// leader, or until patience runs out. A count it could not read is never
// taken for zero: the last read error is kept in InDoubtReadError.
func waitInDoubt(ctx context.Context, c *localcluster.Cluster, s *summary, patience time.Duration) {
	deadline := time.Now().Add(patience)
	for {
		prepared, open, err := c.InDoubt(ctx)
		s.InDoubtAtEnd, s.InDoubtReadError = max(prepared, 0)+max(open, 0), ""
		if err != nil {
			s.InDoubtReadError = err.Error()
		}
		if err == nil && s.InDoubtAtEnd == 0 {
			return
		}
		if time.Now().After(deadline) || !backoff.Sleep(ctx, 200*time.Millisecond) {
			fmt.Printf("demo: still in doubt after %s: prepared %d, open %d (%v)\n", patience, prepared, open, err)
			return
		}
	}
}

// checkUp counts the processes that are running and answer (a coordinator
// its Cluster call, a bank its Inspect call), polling until all do or
// patience runs out; the others go to Down.
func checkUp(ctx context.Context, c *localcluster.Cluster, s *summary, patience time.Duration) {
	deadline := time.Now().Add(patience)
	for {
		s.Down = s.Down[:0]
		for _, p := range c.All() {
			if err := answers(ctx, c, p); err != nil {
				s.Down = append(s.Down, fmt.Sprintf("%s: %v", p.Name, err))
			}
		}
		s.ProcessesUp = len(c.All()) - len(s.Down)
		if len(s.Down) == 0 || time.Now().After(deadline) || !backoff.Sleep(ctx, 200*time.Millisecond) {
			return
		}
	}
}

// answers says why p is not up, or nil if it runs and answers.
func answers(ctx context.Context, c *localcluster.Cluster, p *localcluster.Proc) error {
	if !p.Running() {
		return fmt.Errorf("not running")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, coord := range c.Coords {
		if coord == p {
			_, err := localcluster.ClusterInfo(ctx, p)
			return err
		}
	}
	_, err := localcluster.Inspect(ctx, p)
	return err
}
