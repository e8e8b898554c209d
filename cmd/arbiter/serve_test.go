package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// --uniqueness-window defaults to the coordinator's default and reaches
// coordinator.Config; a window that does not exceed --max-timeout is
// refused before anything is opened, naming both settings.
func TestServeUniquenessWindowFlag(t *testing.T) {
	cmd := serveCmd()
	fl := cmd.Flags().Lookup("uniqueness-window")
	if fl == nil {
		t.Fatal("arbiter serve has no --uniqueness-window flag")
	}
	if want := coordinator.DefaultConfig().UniquenessWindow.String(); fl.DefValue != want {
		t.Fatalf("--uniqueness-window default %s, want %s (coordinator.DefaultConfig)", fl.DefValue, want)
	}
	dir := t.TempDir()
	cmd.SetArgs([]string{"--id", "n1", "--peers", "n1=127.0.0.1:1/127.0.0.1:2", "--data-dir", dir,
		"--max-timeout", "10s", "--uniqueness-window", "10s"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "UniquenessWindow (10s) must exceed MaxTimeout (10s)") {
		t.Fatalf("window 10s with max-timeout 10s: got %v, want a refusal naming both", err)
	}
	if got, _ := cmd.Flags().GetDuration("uniqueness-window"); got != 10*time.Second {
		t.Fatalf("--uniqueness-window parsed as %v", got)
	}
}

// --log-store defaults to raftlog's default and reaches raftlog.Config; an
// unknown store is refused before anything is opened, naming the flag and
// the accepted values, and leaves the data dir empty.
func TestServeLogStoreFlag(t *testing.T) {
	cmd := serveCmd()
	fl := cmd.Flags().Lookup("log-store")
	if fl == nil {
		t.Fatal("arbiter serve has no --log-store flag")
	}
	if want := raftlog.DefaultConfig().LogStore; fl.DefValue != want {
		t.Fatalf("--log-store default %s, want %s (raftlog.DefaultConfig)", fl.DefValue, want)
	}
	dir := t.TempDir()
	cmd.SetArgs([]string{"--id", "n1", "--peers", "n1=127.0.0.1:1/127.0.0.1:2", "--data-dir", dir, "--log-store", "rocksdb"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), `--log-store "rocksdb": want one of boltdb, wal`) {
		t.Fatalf("--log-store rocksdb: got %v, want a refusal naming the flag and the stores", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused start wrote %v into the data dir", entries)
	}
}
