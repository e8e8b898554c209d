package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/broker"
)

// testBroker is a real NATS server with JetStream (internal/broker),
// stopped when the test ends.
type testBroker struct {
	t *testing.T
	*broker.Broker
}

func startBroker(t *testing.T) *testBroker {
	t.Helper()
	b, err := broker.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return &testBroker{t: t, Broker: b}
}

func (b *testBroker) url() string { return b.URL() }

func (b *testBroker) stop() { b.Stop() }

func (b *testBroker) start() {
	b.t.Helper()
	if err := b.Restart(); err != nil {
		b.t.Fatal(err)
	}
}

// streamIDs returns the Nats-Msg-Id of every message in the stream.
func (b *testBroker) streamIDs(t *testing.T, stream string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := broker.ReadStream(ctx, b.URL(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.MsgID)
	}
	return ids
}
