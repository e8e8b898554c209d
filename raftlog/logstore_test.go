package raftlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// dirTree lists every path under dir with its size and modification
// time, to show that a refused Open wrote nothing.
func dirTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, fmt.Sprintf("%s %v %d %d", rel, info.Mode(), info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// soloWith opens a one-voter node on store kind, commits tx "t1" and
// closes it; it returns the config to reopen the same data dir with.
func soloWith(t *testing.T, kind string) Config {
	t.Helper()
	cfg := testConfig(t, "n1")
	cfg.LogStore = kind
	n, cfg := openSolo(t, cfg)
	if _, err := applyBegin(t.Context(), n, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Apply(t.Context(), pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "t1", Outcome: commit}); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A data dir made by one log store is refused by the other, in both
// directions, with an error naming the flag to use; the refusal writes
// nothing, and the right store then opens the node with its state.
func TestOpenRefusesOtherLogStore(t *testing.T) {
	for _, tc := range []struct{ have, want string }{{LogStoreBoltDB, LogStoreWAL}, {LogStoreWAL, LogStoreBoltDB}} {
		t.Run(tc.have+"-dir-opened-as-"+tc.want, func(t *testing.T) {
			cfg := soloWith(t, tc.have)
			before := dirTree(t, cfg.DataDir)
			other := cfg
			other.LogStore = tc.want
			n, err := Open(other, testLogger(t))
			if err == nil {
				_ = n.Close()
				t.Fatalf("a %s data dir opened as %s", tc.have, tc.want)
			}
			wantMsg := "data dir " + cfg.DataDir + " holds a " + tc.have + " raft log"
			if !errors.Is(err, ErrLogStoreMismatch) || !strings.Contains(err.Error(), wantMsg) ||
				!strings.Contains(err.Error(), "start with --log-store "+tc.have) {
				t.Fatalf("open error %q: want ErrLogStoreMismatch saying %q and naming --log-store %s", err, wantMsg, tc.have)
			}
			if after := dirTree(t, cfg.DataDir); !slices.Equal(before, after) {
				t.Fatalf("the refused open changed the data dir:\nbefore %v\nafter  %v", before, after)
			}
			n, err = Open(cfg, testLogger(t))
			if err != nil {
				t.Fatalf("reopen as %s: %v", tc.have, err)
			}
			defer func() { _ = n.Close() }()
			waitFor(t, "the reopened node to apply t1's COMMIT from its log", func() bool {
				r, ok := n.FSM().Get("t1")
				return ok && r.State == pb.TxState_TX_STATE_COMMITTED
			})
		})
	}
}

// A data dir holding both stores (files copied in by hand) is refused
// whatever LogStore says: neither is silently preferred.
func TestOpenRefusesDataDirWithBothLogStores(t *testing.T) {
	cfg := soloWith(t, LogStoreWAL)
	bolt := soloWith(t, LogStoreBoltDB)
	data, err := os.ReadFile(filepath.Join(bolt.DataDir, boltFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, boltFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kind := range LogStores() {
		c := cfg
		c.LogStore = kind
		n, err := Open(c, testLogger(t))
		if err == nil {
			_ = n.Close()
			t.Fatalf("opened as %s a data dir holding both stores", kind)
		}
		if !errors.Is(err, ErrLogStoreMismatch) || !strings.Contains(err.Error(), "holds both a boltdb raft log") {
			t.Fatalf("open as %s: %q, want a refusal naming both stores", kind, err)
		}
	}
}

// An empty wal/ directory (a first start killed before raft-wal wrote a
// file) is no log: boltdb may start there.
func TestEmptyWALDirIsNoLog(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, walDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkStoreKind(dir, LogStoreBoltDB); err != nil {
		t.Fatalf("empty wal/ refused: %v", err)
	}
}

// Replay reads a wal data dir like a boltdb one.
func TestReplayReadsEitherLogStore(t *testing.T) {
	for _, kind := range LogStores() {
		t.Run(kind, func(t *testing.T) {
			cfg := soloWith(t, kind)
			r, err := Replay(cfg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			if r.Decisions["t1"] != "commit" || len(r.Entries) != 2 {
				t.Fatalf("replayed %v with %d command entries, want t1 committed from 2", r.Decisions, len(r.Entries))
			}
		})
	}
}

// Both stores satisfy raft's LogStore and StableStore contracts on what
// the node relies on: a batch appended is read back, a stable key set is
// read back, and a prefix deleted (log compaction) is gone.
func TestLogStoresRoundTrip(t *testing.T) {
	for _, kind := range LogStores() {
		t.Run(kind, func(t *testing.T) {
			s, err := openLogStore(t.TempDir(), kind, newHclog(testLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			var batch []*raft.Log
			for i := uint64(1); i <= 10; i++ {
				batch = append(batch, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{byte(i)}})
			}
			if err := s.StoreLogs(batch); err != nil {
				t.Fatal(err)
			}
			if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteRange(1, 4); err != nil {
				t.Fatal(err)
			}
			first, _ := s.FirstIndex()
			last, _ := s.LastIndex()
			term, _ := s.GetUint64([]byte("CurrentTerm"))
			var l raft.Log
			if err := s.GetLog(7, &l); err != nil || l.Data[0] != 7 || first != 5 || last != 10 || term != 7 {
				t.Fatalf("got entry %v (%v), first %d, last %d, term %d", l, err, first, last, term)
			}
		})
	}
}

// Raft truncates a follower's log tail when a new leader's entries
// conflict with it (a leader killed with uncommitted entries). raft-wal
// v0.4.0 marks the segment sealed without writing its index block, and
// after a restart every read of it failed with "sealed segment has no
// index block" (hashicorp/raft-wal#31, fixed upstream in #33 after
// v0.4.0), so the node could not start. walStore reads such a segment
// through instead: the log reopens whole, the truncated entries gone.
func TestWALReopensAfterTailTruncation(t *testing.T) {
	dir := t.TempDir()
	hl := newHclog(testLogger(t))
	s, err := openLogStore(dir, LogStoreWAL, hl)
	if err != nil {
		t.Fatal(err)
	}
	appendRange := func(s logStore, from, to, term uint64) {
		t.Helper()
		var batch []*raft.Log
		for i := from; i <= to; i++ {
			batch = append(batch, &raft.Log{Index: i, Term: term, Type: raft.LogCommand, Data: []byte{byte(i), byte(term)}})
		}
		if err := s.StoreLogs(batch); err != nil {
			t.Fatal(err)
		}
	}
	appendRange(s, 1, 10, 1)
	if err := s.DeleteRange(8, 10); err != nil { // a conflicting suffix
		t.Fatal(err)
	}
	appendRange(s, 8, 12, 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = openLogStore(dir, LogStoreWAL, hl)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for i := uint64(1); i <= 12; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			t.Fatalf("entry %d after reopening a tail-truncated log: %v", i, err)
		}
		if want := uint64(1 + btou(i >= 8)); l.Term != want || l.Data[0] != byte(i) {
			t.Fatalf("entry %d: term %d data %v, want term %d", i, l.Term, l.Data, want)
		}
	}
	if first, _ := s.FirstIndex(); first != 1 {
		t.Fatalf("first index %d", first)
	}
	if last, _ := s.LastIndex(); last != 12 {
		t.Fatalf("last index %d", last)
	}
}

func btou(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// A second open of the same wal data dir fails at once, naming the lock
// and the data dir, instead of blocking on wal-meta.db's bbolt lock; the
// first holder keeps working, and the dir opens again once it is closed.
func TestWALRefusesSecondOpen(t *testing.T) {
	dir := t.TempDir()
	hl := newHclog(testLogger(t))
	s, err := openLogStore(dir, LogStoreWAL, hl)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		s2, err := openLogStore(dir, LogStoreWAL, hl)
		if err == nil {
			_ = s2.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is locked") || !strings.Contains(err.Error(), "another process (or node) has this data dir open") {
			t.Fatalf("second open: %v, want a lock refusal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second open of a wal data dir blocked")
	}
	if err := s.StoreLogs([]*raft.Log{{Index: 1, Term: 1, Type: raft.LogCommand, Data: []byte{1}}}); err != nil {
		t.Fatalf("the first holder after the refused open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = openLogStore(dir, LogStoreWAL, hl)
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	_ = s.Close()
}
