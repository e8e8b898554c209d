package runner

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// netPrefix names this process's network objects: "arb" and the PID in
// base 36, so that a later run can tell whose leftovers it finds.
func netPrefix() string { return "arb" + strconv.FormatInt(int64(os.Getpid()), 36) }

// sweepDeadRuns deletes network namespaces left by earlier runs whose
// process is gone (a run killed before it could clean up).
func sweepDeadRuns() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		prefix, _, ok := strings.Cut(name, "-")
		if !ok || !strings.HasPrefix(prefix, "arb") || prefix == netPrefix() {
			continue
		}
		pid, err := strconv.ParseInt(prefix[3:], 36, 64)
		if err != nil || syscall.Kill(int(pid), 0) == nil {
			continue // not ours, or its run is still alive
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
		_ = exec.Command("ip", "link", "del", prefix+"br").Run()
	}
}
