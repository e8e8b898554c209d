package raftlog

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// BenchmarkApply measures one BEGIN through a three-node cluster on real
// TCP and real fsync (raft-boltdb): sequentially (the latency of one
// decision) and from many goroutines (what raft's own batching gives).
func BenchmarkApply(b *testing.B) {
	for _, par := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency-%d", par), func(b *testing.B) {
			c := newCluster(b, 3)
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
		})
	}
}
