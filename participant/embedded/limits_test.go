package embedded

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
)

// A write that bbolt would refuse at commit is refused where it is written
// (Tx.Put names the limit), so a prepare can never vote yes on work its
// commit would refuse.
func TestWritesOutsideBoltLimitsAreRefusedAtPut(t *testing.T) {
	s, _ := newStore(t)
	for _, tc := range []struct{ name, key, limit string }{
		{"empty-key", "", "1 to 32768 bytes"},
		{"long-key", strings.Repeat("k", 40000), "32768"},
	} {
		tx, err := s.Begin(ctx, tc.name)
		must(t, err)
		if err := tx.Put(ctx, tc.key, []byte("1")); !errors.Is(err, ErrInvalidWrite) || !strings.Contains(err.Error(), tc.limit) {
			perr := s.Prepare(ctx, tc.name, tx, time.Now().Add(time.Minute))
			t.Fatalf("%s: Put = %v, want an error naming the limit (%s); then Prepare = %v (a yes vote) and Commit = %v",
				tc.name, err, tc.limit, perr, s.Commit(ctx, tc.name))
		}
		must(t, s.Rollback(ctx, tc.name, tx))
	}
}

// Prepare checks every write its commit will apply, also writes that did
// not come through Put.
func TestPrepareRefusesWhatCommitWouldRefuse(t *testing.T) {
	s, _ := newStore(t)
	tx, err := s.Begin(ctx, "raw")
	must(t, err)
	tx.writes[strings.Repeat("k", 40000)] = []byte("1")
	if err := s.Prepare(ctx, "raw", tx, time.Now().Add(time.Minute)); !errors.Is(err, ErrInvalidWrite) {
		t.Fatalf("Prepare of a 40000-byte key = nil (a yes vote); Commit then = %v", s.Commit(ctx, "raw"))
	}
	must(t, s.Rollback(ctx, "raw", tx))
	wantState(t, s, "raw", participant.StateNone)
}
