package failpoint

import (
	"strings"
	"testing"
)

func TestCheckNames(t *testing.T) {
	for _, spec := range []string{"", "none=0", "do-after-enlist=0.02,vote-after-send=0.003",
		Spec(DoAfterEnlist.Arm(0.02), VoteAfterSend.Arm(0.003))} {
		if err := CheckNames(spec, ParticipantPoints()); err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
	}
	if err := CheckNames("do-after-enlst=0.1", ParticipantPoints()); err == nil || !strings.Contains(err.Error(), `"do-after-enlst"`) {
		t.Fatalf("a misspelt point: got %v, want a refusal naming it", err)
	}
	if err := CheckNames(AfterDecide.Arm(0.1), ParticipantPoints()); err == nil {
		t.Fatal("a coordinator point armed in a participant was accepted")
	}
	if err := CheckNames("after-decide=2", CoordinatorPoints()); err == nil {
		t.Fatal("probability 2 was accepted")
	}
}

// The names are what ARBITER_FAILPOINTS, the fault suite's flags and the
// nodes' logs spell: they must not change.
func TestNamesAreTheWireSpellings(t *testing.T) {
	want := "before-decide after-decide phase2-mid prepare-before-durable prepare-after-durable " +
		"vote-after-send commit-before-apply commit-after-apply do-after-enlist"
	var got []string
	for _, p := range append(CoordinatorPoints(), ParticipantPoints()...) {
		got = append(got, string(p))
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("crash point names = %v, want %s", got, want)
	}
	if s := Spec(AfterDecide.Arm(0.01), Phase2Mid.Arm(0.005), Unarmed.Arm(0)); s != "after-decide=0.01,phase2-mid=0.005,none=0" {
		t.Fatalf("Spec = %q", s)
	}
}
