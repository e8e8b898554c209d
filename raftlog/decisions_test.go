package raftlog

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// TestDecisionEventsFollowTheLog: every decision (explicit COMMIT and
// ABORT, an implicit commit by FINISH) becomes one event with the entry's
// index, its position in the entry, a gapless seq and the entry's append
// time; a DECIDE that finds a decision records nothing.
func TestDecisionEventsFollowTheLog(t *testing.T) {
	h := newTestFSM(t)
	h.begin("a")
	h.decide("a", commit, "p1") // index 2
	h.decide("a", abort, "p1")  // 3: already decided, no event
	h.decide("b", abort)        // 4: unknown, refused, no event
	h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "c", Outcome: abort, Participants: []string{"p2"},
		CreateDeadlineUnixNanos: 1, CreateClientId: "cli2", Presumed: true}) // 5
	h.apply(pb.CommandType_COMMAND_TYPE_STAGE, &pb.StageCommand{TxId: "s1", Participants: []string{"p1"}, DeadlineUnixNanos: 1}) // 6
	h.apply(pb.CommandType_COMMAND_TYPE_STAGE, &pb.StageCommand{TxId: "s2", Participants: []string{"p2"}, DeadlineUnixNanos: 1}) // 7
	at := time.Unix(1700000000, 42)
	b, _ := Encode(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{ImplicitCommitTxIds: []string{"s1", "s2"}})
	h.f.Apply(&raft.Log{Index: 8, Type: raft.LogCommand, Data: b, AppendedAt: at})

	evs, next, _, err := h.f.DecisionsFrom(Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		idx uint64
		pos uint32
		tx  string
		out pb.Outcome
	}{{2, 0, "a", commit}, {5, 0, "c", abort}, {8, 0, "s1", commit}, {8, 1, "s2", commit}}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d: %v", len(evs), len(want), evs)
	}
	for i, w := range want {
		e := evs[i]
		if e.Index != w.idx || e.Position != w.pos || e.TxId != w.tx || e.Outcome != w.out || e.Seq != uint64(i+1) {
			t.Fatalf("event %d = %v, want %+v seq %d", i, e, w, i+1)
		}
	}
	if evs[1].ClientId != "cli2" || evs[0].ClientId != "cli" || len(evs[0].Participants) != 1 {
		t.Fatalf("client or participants lost: %v %v", evs[0], evs[1])
	}
	if evs[2].DecidedUnixNanos != at.UnixNano() || evs[0].DecidedUnixNanos != 0 {
		t.Fatalf("decision time not the entry's AppendedAt: %d %d", evs[2].DecidedUnixNanos, evs[0].DecidedUnixNanos)
	}
	if next != (Cursor{8, 2}) {
		t.Fatalf("next = %v, want {8 2}", next)
	}
	// Resuming in the middle of an entry's decisions.
	evs, _, _, _ = h.f.DecisionsFrom(Cursor{8, 1}, 100)
	if len(evs) != 1 || evs[0].TxId != "s2" {
		t.Fatalf("from {8 1}: %v", evs)
	}
	evs, _, _, _ = h.f.DecisionsFrom(Cursor{3, 0}, 1)
	if len(evs) != 1 || evs[0].TxId != "c" {
		t.Fatalf("from {3 0} limit 1: %v", evs)
	}
}

// TestDecisionHistoryCompacts: past the retained count, a resume before
// the oldest retained decision fails with a CompactedError naming the
// first cursor still available, and the zero cursor starts there.
func TestDecisionHistoryCompacts(t *testing.T) {
	h := &testFSM{t: t, f: NewFSMWithHistory(3)}
	for _, id := range []string{"t1", "t2", "t3", "t4", "t5"} {
		h.begin(id)
		h.decide(id, commit, "p")
	} // decisions at 2, 4, 6, 8, 10; 2 and 4 dropped
	_, _, _, err := h.f.DecisionsFrom(Cursor{4, 0}, 10)
	var ce *CompactedError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCompacted) || ce.Oldest != (Cursor{4, 1}) {
		t.Fatalf("from {4 0}: err %v, want compacted with oldest {4 1}", err)
	}
	evs, _, _, err := h.f.DecisionsFrom(Cursor{5, 0}, 10)
	if err != nil || len(evs) != 3 || evs[0].TxId != "t3" || evs[0].Seq != 3 {
		t.Fatalf("from {5 0}: %v %v", evs, err)
	}
	evs, _, _, err = h.f.DecisionsFrom(Cursor{}, 10)
	if err != nil || len(evs) != 3 || evs[0].TxId != "t3" {
		t.Fatalf("from the start: %v %v", evs, err)
	}
	if o, seq := h.f.OldestDecision(); o != (Cursor{4, 1}) || seq != 5 {
		t.Fatalf("oldest %v seq %d", o, seq)
	}
}

// TestDecisionHistorySnapshotRoundTrip: the retained decisions, the seq
// and the eviction point survive a snapshot, byte for byte; a snapshot
// without them (written before they existed) restores with its applied
// index as the oldest place a watch may start.
func TestDecisionHistorySnapshotRoundTrip(t *testing.T) {
	h := &testFSM{t: t, f: NewFSMWithHistory(3)}
	for _, id := range []string{"t1", "t2", "t3", "t4"} {
		h.begin(id)
		h.decide(id, abort, "p")
	}
	data := persist(t, h.f)
	got := NewFSMWithHistory(3)
	if err := got.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	we, _, _, _ := h.f.DecisionsFrom(Cursor{}, 10)
	ge, _, _, _ := got.DecisionsFrom(Cursor{}, 10)
	if len(we) != 3 || len(ge) != len(we) {
		t.Fatalf("restored %d decisions, want %d", len(ge), len(we))
	}
	for i := range we {
		if !proto.Equal(we[i], ge[i]) {
			t.Fatalf("decision %d: %v != %v", i, ge[i], we[i])
		}
	}
	wo, ws := h.f.OldestDecision()
	if go_, gs := got.OldestDecision(); go_ != wo || gs != ws {
		t.Fatalf("oldest/seq %v/%d, want %v/%d", go_, gs, wo, ws)
	}
	if !bytes.Equal(persist(t, got), data) {
		t.Fatal("snapshot of restored state differs")
	}
	// The next decision after a restore continues the seq.
	g := &testFSM{t: t, f: got, index: h.index}
	g.begin("t5")
	g.decide("t5", commit, "p")
	if evs, _, _, _ := got.DecisionsFrom(Cursor{g.index, 0}, 1); len(evs) != 1 || evs[0].Seq != 5 {
		t.Fatalf("after restore: %v", evs)
	}

	old := &pb.SnapshotHeader{Version: snapshotVersion}
	var b bytes.Buffer
	b.WriteString(snapshotMagic)
	_ = writeMsg(&b, old)
	b.Write([]byte{42}) // applied index 42, nothing else
	f := NewFSM()
	if err := f.Restore(io.NopCloser(&b)); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := f.DecisionsFrom(Cursor{42, 0}, 1)
	var ce *CompactedError
	if !errors.As(err, &ce) || ce.Oldest != (Cursor{43, 0}) {
		t.Fatalf("old snapshot: %v, want compacted with oldest {43 0}", err)
	}
}

// TestRestoreRejectsDisorderedDecisions: decisions out of order or with a
// gap in seq are a corrupt snapshot, and the FSM is left unchanged.
func TestRestoreRejectsDisorderedDecisions(t *testing.T) {
	hdr := &pb.SnapshotHeader{Version: snapshotVersion, DecisionCount: 2, DecisionsSeq: 2}
	var b bytes.Buffer
	b.WriteString(snapshotMagic)
	_ = writeMsg(&b, hdr)
	b.Write([]byte{9})
	_ = writeMsg(&b, &pb.DecisionEvent{Index: 5, Seq: 1, TxId: "x"})
	_ = writeMsg(&b, &pb.DecisionEvent{Index: 4, Seq: 2, TxId: "y"})
	h := newTestFSM(t)
	h.begin("keep")
	if err := h.f.Restore(io.NopCloser(&b)); !errors.Is(err, errCorrupt) {
		t.Fatalf("restore: %v, want corrupt", err)
	}
	if _, ok := h.f.Get("keep"); !ok {
		t.Fatal("a failed restore changed the FSM")
	}
}

// TestDecisionsFromWakesWatchers: the channel DecisionsFrom returns is
// closed when a decision is applied, and not by other entries.
func TestDecisionsFromWakesWatchers(t *testing.T) {
	h := newTestFSM(t)
	_, _, changed, _ := h.f.DecisionsFrom(Cursor{}, 1)
	h.begin("a")
	select {
	case <-changed:
		t.Fatal("woken by a BEGIN")
	default:
	}
	h.decide("a", commit, "p")
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("not woken by a DECIDE")
	}
}
