package main

import (
	"context"
	"fmt"
	"google.golang.org/grpc"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/jepsen/cluster"
)

// runScenario: wait for the cluster, read the total, run the workload with
// a participant crash at 1/3 and a leader crash at 1/2, settle, check.
func runScenario(ctx context.Context, c *cluster.Cluster, o options) (*summary, error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.WaitLeader(wctx); err != nil {
		return nil, err
	}
	if err := waitRegistered(wctx, c); err != nil {
		return nil, err
	}
	before, err := waitTotal(wctx, c)
	if err != nil {
		return nil, err
	}
	fmt.Printf("demo: cluster up; total balance %d across %d banks\n", before, len(c.Banks))
	creds, err := c.DialOption("demo")
	if err != nil {
		return nil, err
	}
	cli, err := client.New(client.Config{Addresses: c.CoordAddrs(), ClientID: "demo", DialOptions: []grpc.DialOption{creds}})
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	s := &summary{TotalBefore: before, start: time.Now()}
	mon := newMonitor(c)
	go mon.run(ctx)
	defer mon.stop()
	work(ctx, c, cli, creds, o, s, mon)
	s.LeaderChanges = mon.changes()
	return s, settle(ctx, c, cli, s)
}

// work runs the workers and the fault schedule, printing progress.
func work(ctx context.Context, c *cluster.Cluster, cli *client.Client, creds grpc.DialOption, o options, s *summary, mon *monitor) {
	wctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			newWorker(i, c, cli, creds, o.accounts, s).loop(wctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		faults(wctx, c, o.duration, s)
	}()
	progress(wctx, s, mon)
	wg.Wait()
}

func faults(ctx context.Context, c *cluster.Cluster, d time.Duration, s *summary) {
	if !sleepCtx(ctx, d/3) {
		return
	}
	victim := c.Banks[0]
	s.event("SIGKILL participant %s", victim.Name)
	_ = victim.Kill()
	if sleepCtx(ctx, 1500*time.Millisecond) {
		s.event("restart participant %s", victim.Name)
	}
	_ = victim.Start()
	if !sleepCtx(ctx, d/2-d/3-1500*time.Millisecond) {
		return
	}
	leader, _, err := c.Leader(ctx)
	if err != nil {
		s.event("no leader to kill: %v", err)
		return
	}
	s.event("SIGKILL coordinator leader %s", leader.Name)
	_ = leader.Kill()
	sleepCtx(ctx, 2*time.Second)
	s.event("restart coordinator %s", leader.Name)
	_ = leader.Start()
}

func progress(ctx context.Context, s *summary, mon *monitor) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			com, ab, unk := s.counts()
			fmt.Printf("demo: %5.1fs  committed %5d  aborted %4d  unknown %3d  %6.0f tx/s  leader %s\n",
				time.Since(s.start).Seconds(), com, ab, unk, float64(com-last)/2, mon.leader())
			last = com
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// waitRegistered waits until the leader knows every bank.
func waitRegistered(ctx context.Context, c *cluster.Cluster) error {
	for {
		_, info, err := c.Leader(ctx)
		if err == nil && len(info.GetParticipants()) == len(c.Banks) {
			return nil
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return fmt.Errorf("waiting for the banks to register: %w", ctx.Err())
		}
	}
}
