package raftlog

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// countingLogs wraps the log store to count and time writes: each
// StoreLog(s) call is one durable append (a bbolt commit, two fdatasyncs,
// on boltdb; one fsync on wal), so the counters tell how well Raft batches
// entries per append, and the Observer's ObserveLogWrite how long a write
// holds the entries it carries (on the leader, before they are sent to the
// followers).
type countingLogs struct {
	raft.LogStore
	timing  *timing
	writes  atomic.Uint64
	entries atomic.Uint64
}

func (c *countingLogs) StoreLog(l *raft.Log) error {
	return c.StoreLogs([]*raft.Log{l})
}

func (c *countingLogs) StoreLogs(ls []*raft.Log) error {
	c.writes.Add(1)
	c.entries.Add(uint64(len(ls)))
	o := c.timing.load()
	if o == nil {
		return c.LogStore.StoreLogs(ls)
	}
	start := time.Now()
	err := c.LogStore.StoreLogs(ls)
	o.ObserveLogWrite(time.Since(start))
	return err
}
