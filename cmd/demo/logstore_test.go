package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// An unknown --log-store is refused before anything is built or started,
// naming the flag and the stores; the directory stays empty.
func TestDemoRefusesUnknownLogStore(t *testing.T) {
	dir := t.TempDir()
	_, err := run(context.Background(), options{logStore: "rocksdb", dir: dir})
	if err == nil || !strings.Contains(err.Error(), `--log-store "rocksdb": want one of boltdb, wal`) {
		t.Fatalf("got %v, want a refusal naming --log-store and the stores", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the refused run wrote %v", entries)
	}
}
