package raftlog

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// BenchmarkApply measures one BEGIN through a three-node cluster on real
// TCP and real fsync, on each log store: sequentially (the latency of one
// decision) and from many goroutines (what raft's own batching gives).
func BenchmarkApply(b *testing.B) {
	for _, store := range LogStores() {
		for _, par := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/concurrency-%d", store, par), func(b *testing.B) {
				b.Setenv(testLogStoreEnv, store)
				benchApply(b, par)
			})
		}
	}
}

// benchApply runs BEGINs on the leader of a fresh three-node cluster from
// par goroutines per CPU (testing.B.SetParallelism). The cluster gets
// DefaultConfig's timeouts, not the tests' short ones: at concurrency 64
// on a loaded 2-core machine a 100 ms lease lapses and the leader steps
// down mid-benchmark.
func benchApply(b *testing.B, par int) {
	def := DefaultConfig()
	c := newCluster(b, 3, func(cfg *Config) {
		cfg.HeartbeatTimeout, cfg.ElectionTimeout = def.HeartbeatTimeout, def.ElectionTimeout
		cfg.LeaderLeaseTimeout, cfg.CommitTimeout = def.LeaderLeaseTimeout, def.CommitTimeout
	})
	leader := c.nodes[c.leader()]
	var seq atomic.Int64
	ctx := context.Background()
	b.SetParallelism(par)
	b.ResetTimer()
	b.RunParallel(func(pb2 *testing.PB) {
		for pb2.Next() {
			id := fmt.Sprintf("tx-%d", seq.Add(1))
			if _, err := leader.Apply(ctx, pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: id, DeadlineUnixNanos: 1}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applies/s")
}

// BenchmarkLogStoreAppend measures one Raft log append (StoreLogs of one
// 120-byte command entry, the size of a DECIDE) on each store, one after
// another, as raft's leader or a follower makes it for a lone decision:
// the time until it is durable, p50 and p99. Count the fsyncs under
// strace (raftlog/DESIGN.md, "Log stores"):
//
//	go test -c -o /tmp/raftlog.test ./raftlog
//	strace -f -c -e trace=fsync,fdatasync /tmp/raftlog.test -test.run '^$' \
//	    -test.bench 'LogStoreAppend/wal' -test.benchtime 2000x
func BenchmarkLogStoreAppend(b *testing.B) {
	for _, store := range LogStores() {
		b.Run(store, func(b *testing.B) {
			s, err := openLogStore(b.TempDir(), store, newHclog(testLogger(b)))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			data := make([]byte, 120)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				l := &raft.Log{Index: uint64(i) + 1, Term: 1, Type: raft.LogCommand, Data: data}
				if err := s.StoreLogs([]*raft.Log{l}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
