package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/broker"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// eventStream is the JetStream stream the outbox publishes to (the
// bank binary's --outbox-stream default).
const eventStream = "EVENTS"

// consumer is a JetStream consumer of the transfer events: an ordered
// consumer, which the client library recreates after a broker restart
// from the last sequence it delivered. It counts deliveries by message ID.
type consumer struct {
	mu   sync.Mutex
	seen map[string]int
	stop func()
}

// startConsumer subscribes to the stream (waiting until the outbox has
// created it) in the background until ctx ends.
func startConsumer(ctx context.Context, url string) *consumer {
	c := &consumer{seen: map[string]int{}}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	c.stop = func() { cancel(); <-done }
	go func() {
		defer close(done)
		nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		for ctx.Err() == nil {
			cons, err := js.OrderedConsumer(ctx, eventStream, jetstream.OrderedConsumerConfig{})
			if err == nil {
				var cc jetstream.ConsumeContext
				if cc, err = cons.Consume(c.deliver); err == nil {
					<-ctx.Done()
					cc.Stop()
					return
				}
			}
			backoff.Sleep(ctx, 200*time.Millisecond)
		}
	}()
	return c
}

func (c *consumer) deliver(m jetstream.Msg) {
	c.mu.Lock()
	c.seen[m.Headers().Get(jetstream.MsgIDHeader)]++
	c.mu.Unlock()
}

func (c *consumer) received() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.seen))
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}

// eventBranch is a transfer's third branch when the demo runs with events.
func (w *worker) eventBranch(txID string, from, to int, amount int64) []*arbiterpb.Branch {
	if w.c.Outbox == nil {
		return nil
	}
	return []*arbiterpb.Branch{bank.EventBranch(localcluster.OutboxID, bank.TransferCompleted{TxID: txID,
		From: w.c.Banks[from].Name, To: w.c.Banks[to].Name, Amount: amount})}
}

// checkEvents compares what the consumer received with the transfers the
// cluster committed naming the outbox (read back with Watch): each once,
// none of an aborted transfer. It waits up to patience for the consumer.
func checkEvents(ctx context.Context, c *localcluster.Cluster, b *broker.Broker, cons *consumer, s *summary, patience time.Duration) error {
	committed, err := committedNaming(ctx, c, localcluster.OutboxID)
	if err != nil {
		return err
	}
	s.EventsExpected = len(committed)
	deadline := time.Now().Add(patience)
	var got map[string]int
	for {
		got = cons.received()
		if len(got) >= len(committed) || time.Now().After(deadline) || !backoff.Sleep(ctx, 200*time.Millisecond) {
			break
		}
	}
	backoff.Sleep(ctx, 500*time.Millisecond) // a late duplicate would arrive now
	got = cons.received()
	for id, n := range got {
		if !committed[id] {
			s.EventsUnexpected++
			continue
		}
		s.EventsPublished++
		s.EventsDuplicated += n - 1
	}
	stored, err := broker.ReadStream(ctx, b.URL(), eventStream)
	if err != nil {
		return fmt.Errorf("reading the event stream back: %w", err)
	}
	s.EventsInStream = len(stored)
	return nil
}

// committedNaming reads, with Watch, the IDs of the events the committed
// transactions naming participant published.
func committedNaming(ctx context.Context, c *localcluster.Cluster, participant string) (map[string]bool, error) {
	src, err := c.Source(security.RoleAdmin, "demo-checker")
	if err != nil {
		return nil, err
	}
	cli, err := client.New(client.Config{Addresses: c.CoordAddrs(), DialOptions: client.TLSDialOptions(src)})
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	w := cli.Watch(wctx, client.Cursor{}, &client.Filter{ParticipantId: participant, Outcome: arbiterpb.Outcome_OUTCOME_COMMIT})
	defer w.Close()
	out := map[string]bool{}
	for {
		e, err := w.Next()
		if err != nil {
			return out, nil // the history read up to the deadline
		}
		out[bank.EventMsgID(e.GetTxId(), participant)] = true
	}
}
