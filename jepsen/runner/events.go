package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/broker"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/participant/embedded"
)

// eventStream is the stream the outbox publishes to (the bank binary's
// --outbox-stream default).
const eventStream = "EVENTS"

// waitPublished, in the events workload, waits until the stream has not
// grown for two seconds (the outbox has published what it holds), at most
// 30 s, before the processes stop.
func (e *env) waitPublished(ctx context.Context) {
	if e.broker == nil {
		return
	}
	deadline, last, since := time.Now().Add(30*time.Second), -1, time.Now()
	for time.Now().Before(deadline) && backoff.Sleep(ctx, 250*time.Millisecond) {
		msgs, err := broker.ReadStream(ctx, e.broker.URL(), eventStream)
		if err != nil {
			continue
		}
		if len(msgs) != last {
			last, since = len(msgs), time.Now()
		} else if time.Since(since) > 2*time.Second {
			return
		}
	}
}

// collectEvents reads the stream back and the messages the stopped outbox
// still holds.
func (e *env) collectEvents(ctx context.Context) (*history.EventsFinal, error) {
	msgs, err := broker.ReadStream(ctx, e.broker.URL(), eventStream)
	if err != nil {
		return nil, fmt.Errorf("reading the event stream: %w", err)
	}
	ev := &history.EventsFinal{Outbox: localcluster.OutboxID, Stream: []string{}}
	for _, m := range msgs {
		ev.Stream = append(ev.Stream, m.MsgID)
	}
	st, err := embedded.Open(filepath.Join(e.cluster.Outbox.DataDir, "outbox.db"), embedded.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", localcluster.OutboxID, err)
	}
	defer func() { _ = st.Close() }()
	all, err := st.ReadAll()
	if err != nil {
		return nil, err
	}
	for k := range all {
		if strings.HasPrefix(k, "m/") {
			ev.Pending = append(ev.Pending, k)
		}
	}
	slices.Sort(ev.Pending)
	return ev, nil
}
