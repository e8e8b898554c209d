package raftlog

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// bufSink is an in-memory raft.SnapshotSink.
type bufSink struct {
	bytes.Buffer
	closed, cancelled bool
	failAfter         int // fail writes once the buffer holds this many bytes (0: never)
}

func (s *bufSink) Write(p []byte) (int, error) {
	if s.failAfter > 0 && s.Len()+len(p) > s.failAfter {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}
func (s *bufSink) ID() string    { return "test" }
func (s *bufSink) Close() error  { s.closed = true; return nil }
func (s *bufSink) Cancel() error { s.cancelled = true; return nil }

func populated(t *testing.T) *testFSM {
	h := newTestFSM(t)
	h.apply(pb.CommandType_COMMAND_TYPE_REGISTER, &pb.RegisterCommand{ParticipantId: "p2", Address: "b:1"})
	h.apply(pb.CommandType_COMMAND_TYPE_REGISTER, &pb.RegisterCommand{ParticipantId: "p1", Address: "a:1"})
	for _, id := range []string{"f1", "f2", "f3", "f4", "f5"} {
		h.begin(id)
		h.decide(id, commit, "p1")
		h.finish(id)
	}
	h.begin("z-active")
	h.enlist("z-active", "p2")
	h.begin("a-decided")
	h.decide("a-decided", abort, "p1", "p2")
	return h
}

func persist(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	sink := &bufSink{}
	if err := snap.Persist(sink); err != nil || !sink.closed {
		t.Fatalf("persist: %v closed=%v", err, sink.closed)
	}
	return sink.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	h := populated(t)
	data := persist(t, h.f)
	if !bytes.HasPrefix(data, []byte("ARBSNAP\n")) {
		t.Fatal("missing magic")
	}
	got := NewFSM()
	if err := got.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	assertSameFSM(t, h.f, got)
	if again := persist(t, got); !bytes.Equal(again, data) {
		t.Fatal("snapshot of restored state differs: not deterministic")
	}
}

func TestSnapshotIsImmutableView(t *testing.T) {
	h := populated(t)
	snap, _ := h.f.Snapshot()
	before := persist(t, h.f)
	h.enlist("z-active", "p9")
	h.decide("z-active", commit)
	h.finish("a-decided", "z-active")
	sink := &bufSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sink.Bytes(), before) {
		t.Fatal("applies after Snapshot changed the view")
	}
}

func TestPersistCancelsOnError(t *testing.T) {
	snap, _ := populated(t).f.Snapshot()
	sink := &bufSink{failAfter: 10}
	if err := snap.Persist(sink); err == nil || !sink.cancelled || sink.closed {
		t.Fatalf("err=%v cancelled=%v closed=%v", err, sink.cancelled, sink.closed)
	}
}

func TestRestoreRejectsCorruptData(t *testing.T) {
	good := persist(t, populated(t).f)
	badVersion := append([]byte("ARBSNAP\n"), mustLenPrefixed(t, &pb.SnapshotHeader{Version: 2})...)
	cases := map[string][]byte{
		"empty":       nil,
		"bad magic":   append([]byte("NOTSNAP\n"), good[8:]...),
		"bad version": badVersion,
		"trailing":    append(append([]byte{}, good...), 0x00),
		"flipped len": append(append([]byte{}, good[:8]...), 0x7f),
	}
	for cut := 1; cut < len(good); cut += 7 {
		cases["truncated at "+strconv.Itoa(cut)] = good[:cut]
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			f := populated(t).f
			before := persist(t, f)
			if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err == nil {
				t.Fatal("restore accepted corrupt data")
			}
			if !bytes.Equal(persist(t, f), before) {
				t.Fatal("failed restore changed the FSM")
			}
		})
	}
}

func mustLenPrefixed(t *testing.T, m proto.Message) []byte {
	var b bytes.Buffer
	if err := writeMsg(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func assertSameFSM(t *testing.T, want, got *FSM) {
	t.Helper()
	if want.AppliedIndex() != got.AppliedIndex() {
		t.Fatalf("applied %d != %d", got.AppliedIndex(), want.AppliedIndex())
	}
	wp, gp := want.Pending(), got.Pending()
	if len(wp) != len(gp) {
		t.Fatalf("pending %d != %d", len(gp), len(wp))
	}
	for i := range wp {
		if !proto.Equal(wp[i], gp[i]) {
			t.Fatalf("pending[%d] %v != %v", i, gp[i], wp[i])
		}
	}
	for id, addr := range want.Participants() {
		if a, ok := got.Participant(id); !ok || a != addr {
			t.Fatalf("participant %s: %q", id, a)
		}
	}
	want.mu.RLock()
	defer want.mu.RUnlock()
	want.s.finished.each(func(r *pb.TxRecord) {
		if g, ok := got.Get(r.TxId); !ok || !proto.Equal(g, r) {
			t.Fatalf("finished %s: %v", r.TxId, g)
		}
	})
}

var _ raft.SnapshotSink = (*bufSink)(nil)
