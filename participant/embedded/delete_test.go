package embedded

import (
	"strings"
	"testing"
)

// Delete removes committed keys durably (they stay gone after a reopen),
// and refuses, deleting nothing, when a key is locked by a transaction in
// progress (prepared here).
func TestDelete(t *testing.T) {
	s, path := newStore(t)
	prepared(t, s, "t1", "a", "1", "b", "2", "c", "3")
	must(t, s.Commit(ctx, "t1"))
	must(t, s.Delete(ctx, "a", "b", "never-written"))
	wantValue(t, s, "a", "")
	wantValue(t, s, "c", "3")
	prepared(t, s, "t2", "c", "4")
	if err := s.Delete(ctx, "c"); err == nil || !strings.Contains(err.Error(), "locked by transaction t2") {
		t.Fatalf("delete of a key t2 holds: %v, want a refusal naming t2", err)
	}
	wantValue(t, s, "c", "3")
	must(t, s.Close())
	s2 := openStore(t, path)
	defer s2.Close()
	wantValue(t, s2, "a", "")
	wantValue(t, s2, "b", "")
}
