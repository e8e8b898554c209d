package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// The quick mode end to end on real processes with tiny steps: every system
// commits something, and the JSON and SVG files are written.
func TestQuickRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts three systems of processes; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := options{quick: true, out: t.TempDir(), concurrencies: []int{1, 4}, warmup: 300 * time.Millisecond,
		measure: time.Second, participants: 2}
	paths, err := run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	rep := readReport(t, paths[0])
	committed := make(map[string]int)
	for _, s := range rep.Steps {
		committed[s.System] += s.Committed
	}
	for _, name := range []string{"floor", "3-node", "3-node parallel", "1-node"} {
		if committed[name] == 0 {
			t.Errorf("%s committed nothing", name)
		}
	}
	for _, s := range rep.Steps {
		if s.Committed == 0 || s.System == "floor" {
			continue
		}
		if len(s.Breakdown) < 4 || s.Breakdown[0].Millis <= 0 {
			t.Errorf("%s c=%d: breakdown %+v; want the client's mean and the leader's stages", s.System, s.Concurrency, s.Breakdown)
		}
		if s.CPUByProcess["leader"] <= 0 || s.CPUByProcess["driver"] <= 0 {
			t.Errorf("%s c=%d: CPU by process %v; want the leader's and the driver's", s.System, s.Concurrency, s.CPUByProcess)
		}
	}
	if p := rep.Physical; p == nil || p.FdatasyncP50Millis <= 0 || p.RTTP50Millis <= 0 || p.StandardVsBound <= 0 {
		t.Errorf("physical limit %+v; want fdatasync, round trip and the 3-node p50 over its bound", p)
	}
	svg, err := os.ReadFile(paths[1])
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("SVG %s: %v, or no <svg in it", paths[1], err)
	}
}

func readReport(t *testing.T, path string) report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return rep
}
