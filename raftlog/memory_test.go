package raftlog

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// applyLifecycles runs n transactions through the FSM the way a leader
// does: BEGIN, DECIDE, and a FINISH every 256 transactions. Transaction i
// finishes at time i; each FINISH forgets what finished more than window
// before it (0: nothing).
func applyLifecycles(f *FSM, start, n, window int, index *uint64) {
	var finished []string
	apply := func(t pb.CommandType, m proto.Message) {
		*index++
		b, err := Encode(t, m)
		if err != nil {
			panic(err)
		}
		f.Apply(&raft.Log{Index: *index, Type: raft.LogCommand, Data: b})
	}
	for i := start; i < start+n; i++ {
		id := fmt.Sprintf("%032x", i)
		apply(pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: id, DeadlineUnixNanos: 1})
		apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: id, Outcome: pb.Outcome_OUTCOME_COMMIT, Participants: []string{"bank1", "bank2"}})
		if finished = append(finished, id); len(finished) == 256 || i == start+n-1 {
			apply(pb.CommandType_COMMAND_TYPE_FINISH, finishAt(finished, i, window))
			finished = nil
		}
	}
}

func finishAt(ids []string, now, window int) *pb.FinishCommand {
	cmd := &pb.FinishCommand{TxIds: ids, NowUnixNanos: int64(now)}
	if window > 0 {
		cmd.ForgetBeforeUnixNanos = int64(now - window)
	}
	return cmd
}

func heapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// Finished transactions leave the live table, and the finished store keeps
// those within the uniqueness window, so the table's memory stops growing
// once a window's worth is held.
func TestFSMMemoryIsBoundedByTheWindow(t *testing.T) {
	f := NewFSM()
	var index uint64
	applyLifecycles(f, 0, 20_000, 10_000, &index)
	atFull := heapMB()
	applyLifecycles(f, 20_000, 60_000, 10_000, &index)
	after := heapMB()
	if active, unfinished := f.Counts(); active != 0 || unfinished != 0 {
		t.Fatalf("live table holds %d active and %d unfinished after every transaction finished", active, unfinished)
	}
	if n := f.s.finished.len(); n < 10_000 || n > 10_000+256 {
		t.Fatalf("finished store holds %d records, want the window's 10000 (+ one FINISH batch)", n)
	}
	if after > atFull*1.5+4 {
		t.Fatalf("heap grew from %.1f MB to %.1f MB over 60k more transactions; the FSM must forget finished ones", atFull, after)
	}
}

// BenchmarkFSMMemory prints what the finished store costs per remembered
// transaction (two participants, 32-hex IDs, as the bank workload): the
// uniqueness window's memory is this times the finish rate times the
// window (see DESIGN.md).
func BenchmarkFSMMemory(b *testing.B) {
	for range b.N {
		base := heapMB()
		f := NewFSM()
		var index uint64
		applyLifecycles(f, 0, 500_000, 0, &index)
		held := heapMB() - base
		b.ReportMetric(held*(1<<20)/float64(f.s.finished.len()), "bytes/remembered-tx")
		b.Logf("%d finished transactions remembered: heap %.1f MB", f.s.finished.len(), held)
		runtime.KeepAlive(f)
	}
}
