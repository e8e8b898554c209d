package participant_test

import (
	"strings"
	"testing"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A branch that writes a key bbolt cannot store votes no, with the limit
// as the reason: a yes vote would promise a commit that fails forever.
func TestOversizedKeyVotesNo(t *testing.T) {
	n := startNode(t, fakecoord.StartTLS(t), t.TempDir())
	r := n.prepare(t, "big", strings.Repeat("k", 40000)+"=1")
	if r.GetVote() != arbiterpb.Vote_VOTE_NO || !strings.Contains(r.GetReason(), "32768") {
		_, cerr := n.pc.Commit(bg, &arbiterpb.DecisionRequest{TxId: "big", Term: 1})
		t.Fatalf("vote = %v (%q), want no naming the 32768-byte limit; Commit after it = %v", r.GetVote(), r.GetReason(), cerr)
	}
}
