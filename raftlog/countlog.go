package raftlog

import (
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// countingLogs wraps the log store to count writes: each StoreLog(s) call
// is one durable append (a bbolt commit, two fdatasyncs, on boltdb; one
// fsync on wal), so the counters tell how well Raft batches entries per
// append.
type countingLogs struct {
	raft.LogStore
	writes  atomic.Uint64
	entries atomic.Uint64
}

func (c *countingLogs) StoreLog(l *raft.Log) error {
	c.writes.Add(1)
	c.entries.Add(1)
	return c.LogStore.StoreLog(l)
}

func (c *countingLogs) StoreLogs(ls []*raft.Log) error {
	c.writes.Add(1)
	c.entries.Add(uint64(len(ls)))
	return c.LogStore.StoreLogs(ls)
}
