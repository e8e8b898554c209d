package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/broker"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
)

// runScenario: wait for the cluster, read the total, run the workload with
// a participant crash at 1/3 and a leader crash at 1/2, settle, check.
func runScenario(ctx context.Context, c *localcluster.Cluster, b *broker.Broker, o options) (*summary, error) {
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
	s := newSummary(before, len(c.All()))
	var cons *consumer
	if b != nil {
		s.EventsMode, s.FaultsPlanned = true, s.FaultsPlanned+2
		cons = startConsumer(ctx, b.URL())
		defer cons.stop()
	}
	mon := newMonitor(c)
	go mon.run(ctx)
	defer mon.stop()
	work(ctx, c, cli, creds, o, s, mon, b)
	err = settle(ctx, c, cli, s)
	s.LeaderChanges = mon.changes()
	if err == nil && b != nil {
		err = checkEvents(ctx, c, b, cons, s, 20*time.Second)
	}
	return s, err
}

// work runs the workers and the fault schedule, printing progress.
func work(ctx context.Context, c *localcluster.Cluster, cli *client.Client, creds grpc.DialOption, o options, s *summary, mon *monitor, b *broker.Broker) {
	wctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(i, c, cli, creds, o.accounts, s)
			defer w.close()
			w.loop(wctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		faults(wctx, c, o.duration, s)
		if b != nil {
			eventFaults(wctx, c, b, o.duration, s)
		}
	}()
	progress(wctx, s, mon)
	wg.Wait()
}

// faults runs the schedule: SIGKILL a participant at 1/3 of the run and
// restart it 1.5 s later, then SIGKILL the coordinator leader at 1/2 and
// restart it 2 s later. What did not happen is in the summary.
func faults(ctx context.Context, c *localcluster.Cluster, d time.Duration, s *summary) {
	if !backoff.Sleep(ctx, d/3) {
		return
	}
	crash(ctx, s, "participant", c.Banks[0], 1500*time.Millisecond)
	if !backoff.Sleep(ctx, d/2-d/3-1500*time.Millisecond) {
		return
	}
	leader, _, err := c.Leader(ctx)
	if err != nil {
		s.faultFailed("no coordinator leader to kill: %v", err)
		return
	}
	crash(ctx, s, "coordinator leader", leader, 2*time.Second)
}

// eventFaults, with events, follow faults: SIGKILL the outbox at 0.6 of
// the run (down 1 s), then stop the broker at 0.75 (down 1.5 s).
func eventFaults(ctx context.Context, c *localcluster.Cluster, b *broker.Broker, d time.Duration, s *summary) {
	if !backoff.Sleep(ctx, d*6/10-d/2-2*time.Second) {
		return
	}
	crash(ctx, s, "outbox participant", c.Outbox, time.Second)
	if !backoff.Sleep(ctx, d*75/100-d*6/10-time.Second) {
		return
	}
	s.event("stop the NATS broker")
	b.Stop()
	backoff.Sleep(ctx, 1500*time.Millisecond)
	s.event("restart the NATS broker")
	if err := b.Restart(); err != nil {
		s.faultFailed("restart the NATS broker: %v", err)
		return
	}
	s.faultInjected()
}

// crash SIGKILLs p, leaves it down (less if ctx ends) and starts it again;
// it counts as injected only if both steps worked.
func crash(ctx context.Context, s *summary, role string, p *localcluster.Proc, down time.Duration) {
	s.event("SIGKILL %s %s", role, p.Name)
	if err := p.Kill(); err != nil {
		s.faultFailed("SIGKILL %s %s: %v", role, p.Name, err)
		return
	}
	backoff.Sleep(ctx, down)
	s.event("restart %s %s", role, p.Name)
	if err := p.Start(); err != nil {
		s.faultFailed("restart %s %s: %v", role, p.Name, err)
		return
	}
	s.faultInjected()
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

// waitRegistered waits until the leader knows every bank.
func waitRegistered(ctx context.Context, c *localcluster.Cluster) error {
	for {
		_, info, err := c.Leader(ctx)
		if err == nil && len(info.GetParticipants()) >= len(c.Banks)+boolInt(c.Outbox != nil) {
			return nil
		}
		if !backoff.Sleep(ctx, 100*time.Millisecond) {
			return fmt.Errorf("waiting for the banks to register: %w", ctx.Err())
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
