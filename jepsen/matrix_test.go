package main

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// --net passes through to every planned run; a value that names no mode
// is refused with the choices before anything starts.
func TestPlanNet(t *testing.T) {
	base := flags{workload: "bank", nemeses: "kill-leader", duration: time.Second, interval: time.Second, concurrency: 1}
	for _, mode := range []string{"", runner.NetNamespaces, runner.NetProxy} {
		f := base
		f.net = mode
		for _, matrix := range []string{"", "short"} {
			f.matrix = matrix
			runs, err := plan(f)
			if err != nil {
				t.Fatalf("--net %q --matrix %q: %v", mode, matrix, err)
			}
			for _, r := range runs {
				if r.Net != mode {
					t.Fatalf("--net %q --matrix %q: run %s has Net %q", mode, matrix, r.Name, r.Net)
				}
			}
		}
	}
	f := base
	f.net = "tun"
	if _, err := plan(f); err == nil || !strings.Contains(err.Error(), "want netns or proxy") {
		t.Fatalf("--net tun: got %v, want a refusal naming netns and proxy", err)
	}
}
