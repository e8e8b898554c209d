package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/arbiter-tx/arbiter/participant/embedded"
)

type harness struct {
	t    *testing.T
	b    *testBroker
	path string
	st   *embedded.Store
	ob   *Outbox
	stop context.CancelFunc
	done chan struct{}
}

func newHarness(t *testing.T, b *testBroker) *harness {
	h := &harness{t: t, b: b, path: filepath.Join(t.TempDir(), "outbox.db")}
	h.open()
	t.Cleanup(h.close)
	return h
}

func testConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.ID, cfg.NATSURL, cfg.Stream, cfg.Subjects = "events", url, "EVENTS", []string{"transfer.>"}
	cfg.RetryMin, cfg.RetryMax, cfg.Poll, cfg.PublishTimeout = 20*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond, time.Second
	return cfg
}

func (h *harness) open() {
	st, err := embedded.Open(h.path, embedded.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	ob, err := New(testConfig(h.b.url()), st, zaptest.NewLogger(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	h.st, h.ob = st, ob
}

// run starts the publisher.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	go func() { defer close(h.done); _ = h.ob.Run(ctx) }()
}

// close stops the publisher (within 5 s) and closes the store: a restart
// of the outbox process, minus the kill.
func (h *harness) close() {
	if h.stop != nil {
		h.stop()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			h.t.Error("the publisher did not stop within 5 s")
		}
		h.stop = nil
	}
	if h.st != nil {
		_ = h.st.Close()
		h.st = nil
	}
}

// branch runs one transaction's branch through the Resource as the agent
// would: begin, the handler, prepare, then commit or abort.
func (h *harness) branch(txID string, commit bool, subjects ...string) []string {
	h.t.Helper()
	ctx := context.Background()
	res := h.ob.Resource()
	before, _ := h.ob.pending()
	tx, err := res.Begin(ctx, txID)
	if err != nil {
		h.t.Fatal(err)
	}
	var msgs []Message
	var ids []string
	for i, s := range subjects {
		msgs = append(msgs, Message{Subject: s, Data: []byte(fmt.Sprintf("%s #%d", txID, i))})
		ids = append(ids, fmt.Sprintf("%s/events/%04d", txID, i))
	}
	if err := h.ob.Handler(ctx, tx, EncodePayload(msgs...)); err != nil {
		h.t.Fatal(err)
	}
	if err := res.Prepare(ctx, txID, tx, time.Now().Add(time.Minute)); err != nil {
		h.t.Fatal(err)
	}
	if after, _ := h.ob.pending(); len(after) > len(before) {
		h.t.Fatal("a prepared branch's messages are pending before COMMIT")
	}
	if commit {
		err = res.Commit(ctx, txID)
	} else {
		err = res.Abort(ctx, txID)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return ids
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sameIDs checks the stream holds exactly want, each once.
func sameIDs(t *testing.T, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("stream holds %d messages %v,\nwant %d %v", len(g), g, len(w), w)
	}
}

// Committed branches' messages are published once each, with their
// tx/branch/seq message ID; aborted ones never.
func TestCommittedPublishedAbortedNever(t *testing.T) {
	b := startBroker(t)
	h := newHarness(t, b)
	h.run()
	var want []string
	for i := range 8 {
		ids := h.branch(fmt.Sprintf("tx%02d", i), i%3 != 2, "transfer.completed", "transfer.audit")
		if i%3 != 2 {
			want = append(want, ids...)
		}
	}
	waitFor(t, 10*time.Second, "the committed messages", func() bool { return len(b.streamIDs(t, "EVENTS")) >= len(want) })
	time.Sleep(300 * time.Millisecond) // anything more would show now
	sameIDs(t, b.streamIDs(t, "EVENTS"), want)
	if s := h.ob.Stats(); s.Published != uint64(len(want)) || s.Pending != 0 || s.Duplicates != 0 {
		t.Fatalf("stats %+v, want %d published, none pending or duplicated", s, len(want))
	}
}

// With the broker really stopped, commits keep going; the publisher
// fails, backs off and retries; once the broker is back (same store) every
// committed message is there once.
func TestBrokerRestart(t *testing.T) {
	b := startBroker(t)
	h := newHarness(t, b)
	h.run()
	want := h.branch("before", true, "transfer.completed")
	waitFor(t, 10*time.Second, "the first message", func() bool { return len(b.streamIDs(t, "EVENTS")) == 1 })
	b.stop()
	for i := range 5 {
		want = append(want, h.branch(fmt.Sprintf("down%d", i), true, "transfer.completed")...)
	}
	h.branch("down-aborted", false, "transfer.completed")
	waitFor(t, 10*time.Second, "failed publishes while the broker is down", func() bool { return h.ob.Stats().Failures >= 2 })
	if p := h.ob.Stats().Pending; p != 5 {
		t.Fatalf("%d pending while the broker is down, want 5", p)
	}
	b.start()
	waitFor(t, 20*time.Second, "the messages after the broker restart", func() bool { return h.ob.Stats().Pending == 0 })
	time.Sleep(300 * time.Millisecond)
	sameIDs(t, b.streamIDs(t, "EVENTS"), want)
	t.Logf("after the broker restart: %+v", h.ob.Stats())
}

// Messages committed while no publisher ran are published by the next
// outbox over the same store (a restart of the outbox process).
func TestOutboxRestartPublishesPending(t *testing.T) {
	b := startBroker(t)
	h := newHarness(t, b)
	want := h.branch("t1", true, "transfer.completed", "transfer.completed")
	want = append(want, h.branch("t2", true, "transfer.completed")...)
	h.close()
	h.open()
	if p := h.ob.Stats().Pending; p != 3 {
		t.Fatalf("%d pending after reopening, want 3", p)
	}
	h.run()
	waitFor(t, 10*time.Second, "the pending messages", func() bool { return h.ob.Stats().Pending == 0 })
	sameIDs(t, b.streamIDs(t, "EVENTS"), want)
}

// A message published but not deleted (a crash in between) is published
// again with the same ID, and the stream's duplicate window drops it.
func TestRepublishAfterCrashIsDropped(t *testing.T) {
	b := startBroker(t)
	h := newHarness(t, b)
	h.run()
	want := h.branch("warm", true, "transfer.completed")
	// Published and deleted from the store: a close between the two (the
	// stream has it, the deletion not yet written) would leave "warm"
	// pending, republished below as a second duplicate (CI saw it once).
	waitFor(t, 10*time.Second, "the stream, and the store emptied", func() bool {
		return len(b.streamIDs(t, "EVENTS")) == 1 && h.ob.Stats().Pending == 0
	})
	h.close()
	h.open()
	ids := h.branch("crashed", true, "transfer.completed")
	// What the crashed process had done before dying: the publish.
	nc, err := nats.Connect(b.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "transfer.completed", []byte("first copy"), jetstream.WithMsgID(ids[0])); err != nil {
		t.Fatal(err)
	}
	h.run()
	waitFor(t, 10*time.Second, "the republish", func() bool { return h.ob.Stats().Pending == 0 })
	sameIDs(t, b.streamIDs(t, "EVENTS"), append(want, ids...))
	if s := h.ob.Stats(); s.Duplicates != 1 || s.Published != 0 {
		t.Fatalf("stats %+v, want the republish acknowledged as 1 duplicate", s)
	}
}

// A branch that could never be published votes no at Prepare (the
// handler refuses it), saying what to fix; nothing is stored.
func TestBadBranchIsRefused(t *testing.T) {
	b := startBroker(t)
	h := newHarness(t, b)
	cfg := testConfig(b.url())
	for _, tc := range []struct {
		payload []byte
		msg     string
	}{
		{[]byte("not json"), "payload is not"},
		{EncodePayload(Message{Subject: "orders.created"}), `subject "orders.created" is not captured by stream EVENTS`},
		{EncodePayload(Message{Subject: "transfer.*"}), "without whitespace or wildcards"},
		{EncodePayload(Message{Subject: "transfer..x"}), "tokens must be non-empty"},
		{EncodePayload(Message{Subject: "transfer.big", Data: make([]byte, cfg.MaxMessageBytes+1)}), "bytes of data, at most"},
		{EncodePayload(make([]Message, cfg.MaxMessages+1)...), "messages, at most"},
	} {
		tx, err := h.st.Begin(context.Background(), "bad")
		if err != nil {
			t.Fatal(err)
		}
		err = h.ob.Handler(context.Background(), tx, tc.payload)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("payload %.40q: %v, want ErrInvalid saying %q", tc.payload, err, tc.msg)
		}
		_ = h.st.Rollback(context.Background(), "bad", tx)
	}
	if s := h.ob.Stats(); s.Pending != 0 {
		t.Fatalf("refused branches left %d pending", s.Pending)
	}
}

func TestSubjectMatch(t *testing.T) {
	for _, tc := range []struct {
		pats []string
		subj string
		want bool
	}{
		{[]string{"transfer.>"}, "transfer.completed", true},
		{[]string{"transfer.>"}, "transfer", false},
		{[]string{"transfer.*"}, "transfer.a.b", false},
		{[]string{"transfer.*.done"}, "transfer.x.done", true},
		{[]string{"a", "b.c"}, "b.c", true},
	} {
		if got := captured(tc.pats, tc.subj); got != tc.want {
			t.Errorf("%v ~ %q = %v, want %v", tc.pats, tc.subj, got, tc.want)
		}
	}
}
