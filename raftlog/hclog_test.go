package raftlog

import (
	"errors"
	"testing"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"peer": "peer", "lastIndex": "last-index", "last_index": "last-index",
		"last index": "last-index", "ID": "id", "leaderID": "leader-id", "already-kebab": "already-kebab",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHclogAdapter(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	h := newHclog(zap.New(core)).Named("raft").With("nodeID", "n1")
	h.Trace("tr")
	h.Warn("failed to contact", "server_id", "n2", "error", errors.New("boom"), "dangling")
	h.Log(hclog.Off, "never")
	if h.Name() != "raft" || !h.IsTrace() || h.GetLevel() != hclog.Debug || len(h.ImpliedArgs()) != 2 {
		t.Fatalf("name %q level %v implied %v", h.Name(), h.GetLevel(), h.ImpliedArgs())
	}
	all := logs.All()
	if len(all) != 2 || all[0].Level != zap.DebugLevel || all[1].Level != zap.WarnLevel {
		t.Fatalf("entries %+v", all)
	}
	fields := all[1].ContextMap()
	for _, k := range []string{"node-id", "server-id", "error", "extra-value"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("missing field %q in %v", k, fields)
		}
	}
	if all[1].LoggerName != "raft" {
		t.Errorf("logger name %q", all[1].LoggerName)
	}
	h.StandardLogger(nil).Print("std")
	if logs.Len() != 3 {
		t.Fatal("StandardLogger did not write to zap")
	}
}
