package failpoint

import (
	"strings"
	"testing"
)

func TestCheckNames(t *testing.T) {
	for _, spec := range []string{"", "none=0", "do-after-enlist=0.02,vote-after-send=0.003"} {
		if err := CheckNames(spec, ParticipantPoints()); err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
	}
	if err := CheckNames("do-after-enlst=0.1", ParticipantPoints()); err == nil || !strings.Contains(err.Error(), `"do-after-enlst"`) {
		t.Fatalf("a misspelt point: got %v, want a refusal naming it", err)
	}
	if err := CheckNames("after-decide=0.1", ParticipantPoints()); err == nil {
		t.Fatal("a coordinator point armed in a participant was accepted")
	}
	if err := CheckNames("after-decide=2", CoordinatorPoints()); err == nil {
		t.Fatal("probability 2 was accepted")
	}
}
