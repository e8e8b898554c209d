package raftlog

import (
	"cmp"
	"slices"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// txKey is a live record's place in listing order: its begin index, then
// its ID. Both are fixed for the record's life in the live table.
type txKey struct {
	index uint64
	id    string
}

func keyOf(r *arbiterpb.TxRecord) txKey { return txKey{r.GetBeginIndex(), r.GetTxId()} }

func compareKeys(a, b txKey) int {
	return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.id, b.id))
}

// liveOrder is the live table's keys sorted in listing order, so a page
// after a cursor is a binary search and a short walk instead of a sort of
// the whole table. A record created by a log entry has that entry's index
// as its begin index, so new keys arrive in order and add appends. Keys of
// records that left the table stay as tombstones (a key is live when the
// table holds a record under its ID with its begin index) until they are
// half of the slice, when compact drops them: amortized O(1) per apply.
//
// The order is derived from the live table and never read by Apply: it
// changes no result, and snapshots do not carry it (Restore rebuilds it).
type liveOrder struct {
	keys []txKey
	dead int // tombstones in keys
}

// add places a new live record's key.
func (o *liveOrder) add(k txKey) {
	if n := len(o.keys); n == 0 || compareKeys(o.keys[n-1], k) < 0 {
		o.keys = append(o.keys, k)
		return
	}
	i, _ := slices.BinarySearchFunc(o.keys, k, compareKeys) // out of order: never from a Raft log, kept correct anyway
	o.keys = slices.Insert(o.keys, i, k)
}

// removed notes that a record left the live table; live is the table after.
func (o *liveOrder) removed(live map[string]*arbiterpb.TxRecord) {
	if o.dead++; o.dead > len(o.keys)/2 {
		o.compact(live)
	}
}

func (o *liveOrder) compact(live map[string]*arbiterpb.TxRecord) {
	o.keys = slices.DeleteFunc(o.keys, func(k txKey) bool { return !isLive(live, k) })
	o.dead = 0
}

// after returns up to n live records strictly after cursor, in order. The
// records are the table's own (copy-on-write, never mutated): callers clone.
func (o *liveOrder) after(live map[string]*arbiterpb.TxRecord, cursor txKey, n int) []*arbiterpb.TxRecord {
	i, found := slices.BinarySearchFunc(o.keys, cursor, compareKeys)
	if found {
		i++
	}
	var out []*arbiterpb.TxRecord
	for ; i < len(o.keys) && len(out) < n; i++ {
		if r, ok := liveRecord(live, o.keys[i]); ok {
			out = append(out, r)
		}
	}
	return out
}

// liveRecord returns the record k names, unless k is a tombstone.
func liveRecord(live map[string]*arbiterpb.TxRecord, k txKey) (*arbiterpb.TxRecord, bool) {
	r, ok := live[k.id]
	return r, ok && r.GetBeginIndex() == k.index
}

func isLive(live map[string]*arbiterpb.TxRecord, k txKey) bool {
	_, ok := liveRecord(live, k)
	return ok
}

// orderOf builds the order of a live table (after Restore).
func orderOf(live map[string]*arbiterpb.TxRecord) liveOrder {
	keys := make([]txKey, 0, len(live))
	for _, r := range live {
		keys = append(keys, keyOf(r))
	}
	slices.SortFunc(keys, compareKeys)
	return liveOrder{keys: keys}
}

func (o *liveOrder) clone() liveOrder {
	return liveOrder{keys: slices.Clone(o.keys), dead: o.dead}
}
