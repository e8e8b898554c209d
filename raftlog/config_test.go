package raftlog

import (
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	c := DefaultConfig()
	c.ID, c.DataDir, c.BindAddr = "n1", "/tmp/x", "127.0.0.1:7001"
	c.Peers = []Peer{{"n1", "127.0.0.1:7001"}, {"n2", "127.0.0.1:7002"}}
	return c
}

func TestValidate(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	cases := map[string]struct {
		mut  func(*Config)
		want string
	}{
		"no id":          {func(c *Config) { c.ID = "" }, "ID is required"},
		"no dir":         {func(c *Config) { c.DataDir = "" }, "DataDir"},
		"bad bind":       {func(c *Config) { c.BindAddr = "nohost" }, "BindAddr"},
		"bad advertise":  {func(c *Config) { c.AdvertiseAddr = "x" }, "AdvertiseAddr"},
		"self missing":   {func(c *Config) { c.ID = "n9" }, "not in Peers"},
		"dup id":         {func(c *Config) { c.Peers[1].ID = "n1" }, "listed twice"},
		"dup addr":       {func(c *Config) { c.Peers[1].Address = c.Peers[0].Address }, "listed twice"},
		"self addr":      {func(c *Config) { c.AdvertiseAddr = "10.0.0.1:1" }, "advertises"},
		"no peers":       {func(c *Config) { c.Peers = nil }, "Peers is required"},
		"lease too long": {func(c *Config) { c.LeaderLeaseTimeout = time.Second }, "LeaderLeaseTimeout"},
		"election short": {func(c *Config) { c.ElectionTimeout = 100 * time.Millisecond }, "ElectionTimeout"},
		"append entries": {func(c *Config) { c.MaxAppendEntries = 2000 }, "MaxAppendEntries"},
		"apply timeout":  {func(c *Config) { c.ApplyTimeout = 0 }, "ApplyTimeout"},
		"commit timeout": {func(c *Config) { c.CommitTimeout = 0 }, "CommitTimeout"},
		"threshold":      {func(c *Config) { c.SnapshotThreshold = 0 }, "SnapshotThreshold"},
		"log store":      {func(c *Config) { c.LogStore = "rocksdb" }, `LogStore "rocksdb": want one of boltdb, wal`},
		"no log store":   {func(c *Config) { c.LogStore = "" }, `LogStore "": want one of boltdb, wal`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			tc.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParsePeers(t *testing.T) {
	got, err := ParsePeers(" n1=127.0.0.1:7001, n2=localhost:7002 ")
	if err != nil || len(got) != 2 || got[1] != (Peer{"n2", "localhost:7002"}) {
		t.Fatalf("got %v %v", got, err)
	}
	for _, bad := range []string{"", " ", "n1", "n1=", "=h:1", "n1=nohost", "n1=h:1,,n2=h:2"} {
		if _, err := ParsePeers(bad); err == nil {
			t.Errorf("ParsePeers(%q) accepted", bad)
		}
	}
}
