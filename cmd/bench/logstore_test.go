package main

import (
	"github.com/arbiter-tx/arbiter/raftlog"
	"strings"
	"testing"
)

// --log-store takes distinct known stores; anything else is refused with
// the accepted values.
func TestParseLogStoreFlag(t *testing.T) {
	o, err := parseFlags([]string{"--quick", "--log-store", "boltdb, wal"})
	if err != nil || strings.Join(o.logStores, ",") != "boltdb,wal" {
		t.Fatalf("boltdb,wal: %v %v", o.logStores, err)
	}
	if o, err := parseFlags([]string{"--quick"}); err != nil || o.logStores != nil {
		t.Fatalf("no flag: %v %v, want the default store", o.logStores, err)
	}
	for arg, want := range map[string]string{
		"rocksdb":  `"rocksdb" is not one of boltdb, wal`,
		"wal,wal":  `"wal" listed twice`,
		"boltdb,,": `"" is not one of boltdb, wal`,
	} {
		if _, err := parseFlags([]string{"--log-store", arg}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--log-store %s: got %v, want %q", arg, err, want)
		}
	}
}

// With two stores, every Arbiter series on the second is compared with
// the same series on the first, at the same concurrency.
func TestCompareStores(t *testing.T) {
	stores := []string{"boltdb", "wal"}
	names := strings.Join(seriesNames(stores), ",")
	if want := "floor,3-node,3-node parallel,3-node begin+commit,3-node-wal,3-node-wal parallel,3-node-wal begin+commit,1-node,1-node-wal"; names != want {
		t.Fatalf("series %s, want %s", names, want)
	}
	r := &report{LogStores: stores, Steps: []stepResult{
		{System: "floor", Concurrency: 1, TxPerSec: 1000},
		{System: "3-node", Concurrency: 1, TxPerSec: 200, P50Millis: 5, P99Millis: 10},
		{System: "3-node-wal", Concurrency: 1, TxPerSec: 300, P50Millis: 4, P99Millis: 5},
		{System: "3-node", Concurrency: 16, TxPerSec: 600},
		{System: "3-node-wal", Concurrency: 16, TxPerSec: 900},
	}}
	r.compareStores()
	if len(r.Stores) != 1 {
		t.Fatalf("ratios %+v, want one for 3-node-wal", r.Stores)
	}
	got := r.Stores[0]
	if got.Series != "3-node-wal" || got.Versus != "3-node" || got.P50C1 != 0.8 || got.P99C1 != 0.5 || got.Best != 1.5 || got.TxPerSec[16] != 1.5 {
		t.Fatalf("ratio %+v", got)
	}
	var b strings.Builder
	printStores(&b, r)
	if !strings.Contains(b.String(), "3-node-wal") || !strings.Contains(b.String(), "0.80x") {
		t.Fatalf("printed:\n%s", b.String())
	}
}

// An empty store is arbiter serve's default, whatever that is now.
func TestFsyncsPerAppendFollowsTheDefault(t *testing.T) {
	if got, want := fsyncsPerAppend(""), fsyncsPerAppend(raftlog.DefaultConfig().LogStore); got != want {
		t.Fatalf("default store: %v fsyncs per append, want %v (as %s)", got, want, raftlog.DefaultConfig().LogStore)
	}
	if fsyncsPerAppend(raftlog.LogStoreWAL) != 1 || fsyncsPerAppend(raftlog.LogStoreBoltDB) != 2 {
		t.Fatal("wal: 1, boltdb: 2")
	}
}
