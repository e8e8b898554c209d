package runner_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/jepsen/runner"
)

// Issue 14 with real processes, in both network modes: the leader alone is
// cut from every participant (both ways), then only its traffic to them is
// dropped (one way). Each time the leader must hand leadership to a
// follower once, commits must resume within the availability bound while
// the cut holds, and every checker must pass.
func TestPartialPartitionsHandOverLeadership(t *testing.T) {
	nemeses := []string{runner.PartitionLeaderParticipants, "oneway-leader-participants"}
	for _, mode := range netModes(t) {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			run, res := runScenario(t, runner.Config{Nemeses: nemeses, Net: mode, Dir: dir,
				Duration: 12 * time.Second, Interval: 5 * time.Second, Hold: 4 * time.Second})
			for _, n := range nemeses {
				requireFault(t, run, n)
				requireHeld(t, run, n)
			}
			requireCommits(t, run)
			requirePass(t, append(res, runner.CheckAvailability(run)))
			t.Logf("availability: %v", runner.CheckAvailability(run).Evidence)
			transfers := transferLines(t, dir)
			for _, l := range transfers {
				t.Logf("%.400s", l)
			}
			if faults := injected(run); len(transfers) != faults {
				t.Errorf("%d leadership transfers for %d cuts of the leader, want one each", len(transfers), faults)
			}
		})
	}
}

// transferLines are the coordinators' "leadership transfer" log lines.
func transferLines(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range []string{"n1", "n2", "n3"} {
		b, err := os.ReadFile(filepath.Join(dir, "nodes", n+".log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `"msg":"leadership transfer"`) {
				out = append(out, l)
			}
		}
	}
	return out
}

// injected counts the faults that were injected.
func injected(run *history.Run) int {
	n := 0
	for _, f := range run.Faults {
		if !strings.HasPrefix(f.Detail, "inject:") {
			n++
		}
	}
	return n
}
