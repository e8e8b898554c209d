package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The shipped binaries and tools never depend on the fault suite: the
// launcher and the crash points they share with it live in internal/.
func TestBinariesDoNotImportTheFaultSuite(t *testing.T) {
	for _, tags := range []string{"", "failpoints"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-deps",
			"github.com/arbiter-tx/arbiter/cmd/arbiter", "github.com/arbiter-tx/arbiter/cmd/bank",
			"github.com/arbiter-tx/arbiter/cmd/bench", "github.com/arbiter-tx/arbiter/cmd/demo").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q: %v\n%s", tags, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.HasPrefix(pkg, "github.com/arbiter-tx/arbiter/jepsen") {
				t.Errorf("tags %q: a binary imports %s: move what it needs to internal/", tags, pkg)
			}
		}
	}
}
