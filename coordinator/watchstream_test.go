package coordinator

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// decideN applies n BEGIN+DECIDE pairs to f from log index *idx on.
func decideN(t *testing.T, f *raftlog.FSM, idx *uint64, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("tx-%d", *idx+1)
		b, _ := raftlog.Encode(arbiterpb.CommandType_COMMAND_TYPE_DECIDE, &arbiterpb.DecideCommand{TxId: id,
			Outcome: arbiterpb.Outcome_OUTCOME_ABORT, CreateDeadlineUnixNanos: 1, CreateClientId: "c", Participants: []string{"p"}})
		*idx++
		f.Apply(&raft.Log{Index: *idx, Type: raft.LogCommand, Data: b, AppendedAt: time.Now()})
	}
}

func infoOf(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// A watcher whose client does not read is cut off once its buffer has
// stayed full for the stall time, with RESOURCE_EXHAUSTED naming the first
// decision it was not sent; everything before that was delivered, in
// order, and Apply never waited.
func TestSlowWatcherIsCutOffNamingWhereToResume(t *testing.T) {
	f := raftlog.NewFSMWithHistory(1000)
	var idx uint64
	decideN(t, f, &idx, 5)
	w := &watchStream{fsm: f, filter: &arbiterpb.WatchFilter{}, batch: 2, out: make(chan *arbiterpb.WatchResponse, 3), ended: make(chan struct{}), stall: 100 * time.Millisecond}
	release := make(chan struct{})
	var got []*arbiterpb.DecisionEvent
	var lastNext raftlog.Cursor
	send := func(r *arbiterpb.WatchResponse) error {
		<-release // the client reads nothing until released
		got = append(got, r.Events...)
		lastNext = raftlog.Cursor{Index: r.NextIndex, Position: r.NextPosition}
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- w.run(context.Background(), raftlog.Cursor{}, send) }()
	applied := make(chan struct{})
	go func() { decideN(t, f, &idx, 200); close(applied) }()
	select {
	case <-applied: // Apply did not wait for the stalled watcher
	case <-time.After(10 * time.Second):
		t.Fatal("applying decisions waited for a stalled watcher")
	}
	time.Sleep(500 * time.Millisecond) // the buffer stays full past the stall time
	close(release)
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow watcher was not cut off")
	}
	var slow *slowWatcher
	if !errors.As(err, &slow) {
		t.Fatalf("ended with %v, want a slow-watcher error", err)
	}
	if len(got) == 0 || len(got) >= 205 {
		t.Fatalf("delivered %d events before the cut-off, want some but not all 205", len(got))
	}
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: delivered out of order or with a gap", i, e.Seq)
		}
	}
	if slow.next != lastNext {
		t.Fatalf("cut-off names %v, the last response sent ends at %v", slow.next, lastNext)
	}
	st := watchStatus(err)
	info := infoOf(st)
	if status.Code(st) != codes.ResourceExhausted || info.GetReason() != "WATCHER_TOO_SLOW" || info.GetMetadata()["next-index"] == "" {
		t.Fatalf("status %v (%v), want RESOURCE_EXHAUSTED with WATCHER_TOO_SLOW and next-index", st, info)
	}
	t.Logf("cut off after %d of 205 events: %v", len(got), st)
	// Resuming from the named cursor gives the rest, without a gap.
	rest, _, _, err := f.DecisionsFrom(slow.next, 1000)
	if err != nil || len(rest) == 0 || rest[0].Seq != got[len(got)-1].Seq+1 {
		t.Fatalf("resume from %v: %d events, %v", slow.next, len(rest), err)
	}
}

// A resume before the retained history is FAILED_PRECONDITION naming the
// oldest index still available (etcd's ErrCompacted).
func TestWatchBeforeTheHistoryIsCompacted(t *testing.T) {
	f := raftlog.NewFSMWithHistory(4)
	var idx uint64
	decideN(t, f, &idx, 10)
	w := &watchStream{fsm: f, filter: &arbiterpb.WatchFilter{}, batch: 8, out: make(chan *arbiterpb.WatchResponse, 4), ended: make(chan struct{}), stall: time.Second}
	err := w.run(context.Background(), raftlog.Cursor{Index: 2}, func(*arbiterpb.WatchResponse) error { return nil })
	st := watchStatus(err)
	info := infoOf(st)
	if status.Code(st) != codes.FailedPrecondition || info.GetReason() != "DECISIONS_COMPACTED" || info.GetMetadata()["oldest-index"] != "6" {
		t.Fatalf("status %v (%v), want FAILED_PRECONDITION, DECISIONS_COMPACTED, oldest-index 6", st, info)
	}
}

// Filters: by participant (voter or read-only), client and outcome.
func TestWatchFilterMatches(t *testing.T) {
	e := &arbiterpb.DecisionEvent{Outcome: arbiterpb.Outcome_OUTCOME_COMMIT, ClientId: "c", Participants: []string{"a"}, ReadOnly: []string{"r"}}
	for _, tc := range []struct {
		f    *arbiterpb.WatchFilter
		want bool
	}{
		{&arbiterpb.WatchFilter{}, true},
		{&arbiterpb.WatchFilter{ParticipantId: "a"}, true},
		{&arbiterpb.WatchFilter{ParticipantId: "r"}, true},
		{&arbiterpb.WatchFilter{ParticipantId: "x"}, false},
		{&arbiterpb.WatchFilter{ClientId: "c"}, true},
		{&arbiterpb.WatchFilter{ClientId: "d"}, false},
		{&arbiterpb.WatchFilter{Outcome: arbiterpb.Outcome_OUTCOME_COMMIT}, true},
		{&arbiterpb.WatchFilter{Outcome: arbiterpb.Outcome_OUTCOME_ABORT}, false},
		{&arbiterpb.WatchFilter{ClientId: "c", ParticipantId: "x"}, false},
	} {
		if got := matches(tc.f, e); got != tc.want {
			t.Errorf("filter %v: %v, want %v", tc.f, got, tc.want)
		}
	}
}

// A watcher that reads, however far behind it starts (the whole retained
// history, a buffer of one response), is never cut off: it gets every
// decision, in order.
func TestCatchingUpWatcherIsNotCutOff(t *testing.T) {
	f := raftlog.NewFSMWithHistory(5000)
	var idx uint64
	decideN(t, f, &idx, 3000)
	w := &watchStream{fsm: f, filter: &arbiterpb.WatchFilter{}, batch: 1, out: make(chan *arbiterpb.WatchResponse, 1), ended: make(chan struct{}), stall: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seq uint64
	err := w.run(ctx, raftlog.Cursor{}, func(r *arbiterpb.WatchResponse) error {
		for _, e := range r.Events {
			if e.Seq != seq+1 {
				t.Errorf("seq %d after %d", e.Seq, seq)
			}
			seq = e.Seq
		}
		if seq == 3000 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || seq != 3000 {
		t.Fatalf("caught up to seq %d of 3000, ended with %v; want all, then the cancel", seq, err)
	}
}
