package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A short soak: the target count is reached, every process is sampled
// with a positive RSS, and each coordinator gets a growth figure.
func TestSoakEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts a three-node system; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	o := options{out: out, concurrencies: []int{4}, participants: 2, soak: 8000, soakWindow: 8 * time.Second}
	if err := runSoak(ctx, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "soak.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r soakResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	last := r.Samples[len(r.Samples)-1]
	if last.Committed < 8000 || len(r.Samples) < 5 {
		t.Fatalf("last sample %+v after %d samples: want >= 8000 committed and at least 5 samples", last, len(r.Samples))
	}
	if len(last.RSSMB) != 5 {
		t.Fatalf("RSS of %d processes, want 3 coordinators and 2 participants: %v", len(last.RSSMB), last.RSSMB)
	}
	for name, mb := range last.RSSMB {
		if mb <= 1 {
			t.Errorf("%s: RSS %.2f MB, want a live process's", name, mb)
		}
	}
	if r.JudgedFrom == nil || r.JudgedFrom.Seconds < 12 {
		// 8000 at concurrency 4 takes about 20 s here; on a machine fast
		// enough to finish within 12 s this test would need more.
		t.Fatalf("judged from %+v, want a sample at least 1.5 windows (12s) in", r.JudgedFrom)
	}
	if len(r.CoordGrowth) != 3 {
		t.Fatalf("growth figures for %v, want the 3 coordinators", r.CoordGrowth)
	}
}

// The soak flags parse (a flag defined after Parse once made
// --soak-window unknown on the command line), and a window too short for
// the coordinators' timeouts is refused.
func TestSoakFlags(t *testing.T) {
	o, err := parseFlags([]string{"--soak", "10", "--soak-window", "30s"})
	if err != nil || o.soak != 10 || o.soakWindow != 30*time.Second {
		t.Fatalf("got soak %d window %v, err %v; want 10, 30s", o.soak, o.soakWindow, err)
	}
	if o, err := parseFlags([]string{"--soak", "10"}); err != nil || o.soakWindow != time.Minute {
		t.Fatalf("default window %v, err %v; want 1m", o.soakWindow, err)
	}
	if _, err := parseFlags([]string{"--soak", "10", "--soak-window", "2s"}); err == nil {
		t.Fatal("--soak-window 2s accepted; want an error (the coordinators' --max-timeout is at least 5s)")
	}
	if _, err := parseFlags([]string{"--soak", "-1"}); err == nil {
		t.Fatal("--soak -1 accepted")
	}
}
