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
// does: BEGIN, DECIDE, and a FINISH every 256 transactions.
func applyLifecycles(f *FSM, start, n int, index *uint64) {
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
		if finished = append(finished, id); len(finished) == 256 {
			apply(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{TxIds: finished})
			finished = nil
		}
	}
	if len(finished) > 0 {
		apply(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{TxIds: finished})
	}
}

func heapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// Finished transactions leave the live table, and the finished ring keeps
// a fixed number of them, so the table's memory stops growing once the
// ring is full.
func TestFSMMemoryIsBoundedByTheFinishedRing(t *testing.T) {
	f := newFSM(10_000)
	var index uint64
	applyLifecycles(f, 0, 20_000, &index)
	atFull := heapMB()
	applyLifecycles(f, 20_000, 60_000, &index)
	after := heapMB()
	if active, unfinished := f.Counts(); active != 0 || unfinished != 0 {
		t.Fatalf("live table holds %d active and %d unfinished after every transaction finished", active, unfinished)
	}
	if after > atFull*1.5+4 {
		t.Fatalf("heap grew from %.1f MB to %.1f MB over 60k more transactions; the FSM must forget finished ones", atFull, after)
	}
}

// BenchmarkFSMMemory prints the heap after every 100k of 1M transactions
// with the production ring size (FinishedRetention).
func BenchmarkFSMMemory(b *testing.B) {
	for range b.N {
		f := NewFSM()
		var index uint64
		for step := range 10 {
			applyLifecycles(f, step*100_000, 100_000, &index)
			b.Logf("after %7d transactions: heap %.1f MB", (step+1)*100_000, heapMB())
		}
		b.ReportMetric(heapMB(), "heap-MB-after-1M")
		runtime.KeepAlive(f)
	}
}
