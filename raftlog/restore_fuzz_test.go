package raftlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// seedFSM is a small FSM with a live, a decided and a finished record.
func seedFSM(tb testing.TB) *FSM {
	f := NewFSM()
	var index uint64
	for _, c := range []struct {
		ct pb.CommandType
		m  proto.Message
	}{
		{pb.CommandType_COMMAND_TYPE_REGISTER, &pb.RegisterCommand{ParticipantId: "p1", Address: "a:1"}},
		{pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: "live", DeadlineUnixNanos: 10}},
		{pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: "done", DeadlineUnixNanos: 10}},
		{pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "done", Outcome: pb.Outcome_OUTCOME_COMMIT, Participants: []string{"p1"}}},
		{pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{TxIds: []string{"done"}}},
	} {
		b, err := Encode(c.ct, c.m)
		if err != nil {
			tb.Fatal(err)
		}
		index++
		f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: b})
	}
	return f
}

func persistTB(tb testing.TB, f *FSM) []byte {
	tb.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	defer snap.Release()
	sink := &bufSink{}
	if err := snap.Persist(sink); err != nil {
		tb.Fatal(err)
	}
	return sink.Bytes()
}

// FuzzRestore feeds arbitrary bytes to FSM.Restore. A snapshot is either
// rejected with errCorrupt, leaving the FSM exactly as it was, or accepted
// whole, in which case it persists to bytes that restore to the same state.
func FuzzRestore(f *testing.F) {
	good := persistTB(f, seedFSM(f))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsm := seedFSM(t)
		before := persistTB(t, fsm)
		if err := fsm.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("restore error %v does not say the snapshot is corrupt", err)
			}
			if !bytes.Equal(persistTB(t, fsm), before) {
				t.Fatal("a rejected snapshot changed the FSM")
			}
			return
		}
		once := persistTB(t, fsm)
		again := NewFSM()
		if err := again.Restore(io.NopCloser(bytes.NewReader(once))); err != nil {
			t.Fatalf("a snapshot this FSM wrote does not restore: %v", err)
		}
		if !bytes.Equal(persistTB(t, again), once) {
			t.Fatal("restore then persist is not stable")
		}
	})
}

// A node whose only snapshot is corrupt refuses to start rather than run on
// partial (or empty) state.
func TestOpenRefusesCorruptSnapshot(t *testing.T) {
	cfg := testConfig(t, "solo")
	tr, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, 0, newHclog(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BindAddr = string(tr.LocalAddr())
	cfg.Peers = []Peer{{ID: "solo", Address: cfg.BindAddr}}
	n, err := OpenWith(cfg, testLogger(t), Deps{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "solo leader", n.IsLeader)
	if _, err := applyBegin(t.Context(), n, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	_ = n.Close()
	states, _ := filepath.Glob(filepath.Join(cfg.DataDir, "snapshots", "*", "state.bin"))
	if len(states) != 1 {
		t.Fatalf("want one snapshot, found %v", states)
	}
	data, err := os.ReadFile(states[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(states[0], data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	n, err = Open(cfg, testLogger(t))
	if err == nil {
		_ = n.Close()
		t.Fatal("a node started on a truncated snapshot")
	}
	if !errors.Is(err, ErrSnapshotUnusable) || !strings.Contains(err.Error(), "CRC mismatch") {
		t.Fatalf("open failed for another reason, or without saying why: %v", err)
	}
	t.Logf("refused: %v", err)
}
