package raftlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// openSolo opens a single-voter node on an OS-chosen port and waits for it
// to lead. Reopening with the returned config reuses the data dir.
func openSolo(t *testing.T, cfg Config) (*Node, Config) {
	t.Helper()
	tr, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, time.Second, newHclog(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BindAddr = string(tr.LocalAddr())
	cfg.Peers = []Peer{{ID: cfg.ID, Address: cfg.BindAddr}}
	n, err := OpenWith(cfg, testLogger(t), Deps{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "solo leader", n.IsLeader)
	return n, cfg
}

// snapshotEach begins each transaction and takes a snapshot after it, so
// the node keeps one snapshot per ID (up to the store's retention of 2).
func snapshotEach(t *testing.T, n *Node, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := applyBegin(t.Context(), n, id); err != nil {
			t.Fatal(err)
		}
		if err := n.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshotDirs lists the data dir's snapshot directories, newest first.
func snapshotDirs(t *testing.T, dataDir string) []string {
	t.Helper()
	store, err := raft.NewFileSnapshotStoreWithLogger(dataDir, 2, newHclog(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	metas, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range metas {
		dirs = append(dirs, filepath.Join(dataDir, "snapshots", m.ID))
	}
	return dirs
}

// rewriteSnapshot replaces a snapshot's state with data and fixes up the
// CRC and size in its meta.json, so the file store's checksum passes and
// only the FSM's own parser can tell the content is bad.
func rewriteSnapshot(t *testing.T, dir string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "state.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]any{}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	_, _ = h.Write(data)
	meta["CRC"], meta["Size"] = h.Sum(nil), len(data) // []byte marshals as base64, as raft wrote it
	if raw, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// twoSnapshots leaves a closed single-voter node with two snapshots, t1
// and then t2, and returns its config and the snapshot directories, newest
// first.
func twoSnapshots(t *testing.T) (Config, []string) {
	t.Helper()
	n, cfg := openSolo(t, testConfig(t, "solo"))
	snapshotEach(t, n, "t1", "t2")
	_ = n.Close()
	dirs := snapshotDirs(t, cfg.DataDir)
	if len(dirs) != 2 {
		t.Fatalf("want two snapshots, found %v", dirs)
	}
	return cfg, dirs
}

// wantRefused checks Open failed on the snapshot and named the parser's
// reason, not only raft's generic "failed to load any existing snapshots".
func wantRefused(t *testing.T, cfg Config, reason string) {
	t.Helper()
	n, err := Open(cfg, testLogger(t))
	if err == nil {
		_ = n.Close()
		t.Fatal("a node started although its newest snapshot does not restore")
	}
	if !errors.Is(err, ErrSnapshotUnusable) || !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), reason) {
		t.Fatalf("open error %q: want ErrSnapshotUnusable wrapping the parser's %q", err, reason)
	}
}

// A node restarts from its newest snapshot even when the log before it was
// compacted away: the table and applied index are back before Raft runs.
func TestOpenRestoresNewestSnapshot(t *testing.T) {
	cfg := testConfig(t, "solo")
	cfg.TrailingLogs = 0 // compact everything a snapshot covers
	n, cfg := openSolo(t, cfg)
	snapshotEach(t, n, "t1", "t2")
	applied := n.FSM().AppliedIndex()
	_ = n.Close()
	n, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	_, ok1 := n.FSM().Get("t1")
	_, ok2 := n.FSM().Get("t2")
	if !ok1 || !ok2 || n.FSM().AppliedIndex() < applied {
		t.Fatalf("after reopen: t1 %v, t2 %v, applied %d (want >= %d)", ok1, ok2, n.FSM().AppliedIndex(), applied)
	}
}

// The only snapshot passes its checksum but not the FSM's parser: the node
// refuses to start and says what the parser found.
func TestOpenRefusesSemanticallyCorruptSnapshot(t *testing.T) {
	n, cfg := openSolo(t, testConfig(t, "solo"))
	snapshotEach(t, n, "t1")
	_ = n.Close()
	dirs := snapshotDirs(t, cfg.DataDir)
	if len(dirs) != 1 {
		t.Fatalf("want one snapshot, found %v", dirs)
	}
	data, err := os.ReadFile(filepath.Join(dirs[0], "state.bin"))
	if err != nil {
		t.Fatal(err)
	}
	rewriteSnapshot(t, dirs[0], append(data, "junk"...))
	wantRefused(t, cfg, "trailing data")
}

// With two snapshots kept, a corrupt newest one does not make the node fall
// back to the older one (whose later log entries may be compacted away).
func TestOpenRefusesCorruptNewestOfTwoSnapshots(t *testing.T) {
	cfg, dirs := twoSnapshots(t)
	rewriteSnapshot(t, dirs[0], bytes.Repeat([]byte{0x42}, 64))
	wantRefused(t, cfg, "bad magic")
}

// The newest snapshot's meta.json is truncated: raft's file store skips
// such a directory when listing (with a warning only) and would hand back
// the older snapshot. Open refuses instead and names the directory.
func TestOpenRefusesNewestSnapshotWithUnreadableMeta(t *testing.T) {
	cfg, dirs := twoSnapshots(t)
	meta := filepath.Join(dirs[0], "meta.json")
	raw, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := Open(cfg, testLogger(t))
	if err == nil {
		_ = n.Close()
		t.Fatal("a node started from its older snapshot although the newest one's meta.json is unreadable")
	}
	if !errors.Is(err, ErrSnapshotUnusable) || !strings.Contains(err.Error(), filepath.Base(dirs[0])) || !strings.Contains(err.Error(), "meta.json") {
		t.Fatalf("open error %q: want ErrSnapshotUnusable naming %s and its meta.json", err, filepath.Base(dirs[0]))
	}
}

// An older snapshot directory left half removed (the store reaps old
// snapshots with os.RemoveAll, and a crash can stop it midway) does not
// stop the node: it starts from the newest snapshot, which is intact.
func TestOpenIgnoresHalfRemovedOlderSnapshot(t *testing.T) {
	cfg, dirs := twoSnapshots(t)
	if err := os.Remove(filepath.Join(dirs[1], "meta.json")); err != nil {
		t.Fatal(err)
	}
	n, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("a half-removed older snapshot stopped the node: %v", err)
	}
	defer n.Close()
	if _, ok := n.FSM().Get("t2"); !ok {
		t.Fatal("the node did not restore its newest snapshot (t2 missing)")
	}
}
