package txstate

import (
	"errors"
	"testing"

	"github.com/arbiter-tx/arbiter/participant"
)

func TestNeedNone(t *testing.T) {
	for _, tc := range []struct {
		st   participant.State
		want error
		msg  string
	}{
		{participant.StateNone, nil, ""},
		{participant.StateAborted, participant.ErrAlreadyAborted, ": t1"},
		{participant.StateCommitted, participant.ErrAlreadyCommitted, ": t1"},
		{participant.StatePrepared, participant.ErrTxExists, ": t1 is prepared"},
	} {
		err := NeedNone(tc.st, "t1")
		if tc.want == nil {
			if err != nil {
				t.Errorf("%v: %v, want nil", tc.st, err)
			}
			continue
		}
		if !errors.Is(err, tc.want) || err.Error() != tc.want.Error()+tc.msg {
			t.Errorf("%v: %v, want %q", tc.st, err, tc.want.Error()+tc.msg)
		}
	}
}

func TestLatchKeepsTheFirstError(t *testing.T) {
	var l Latch
	first, second := errors.New("prepared"), errors.New("rolled back")
	if l.Err() != nil {
		t.Fatal("a new latch is finished")
	}
	if err := l.Finish(first); err != nil {
		t.Fatalf("first Finish = %v, want nil", err)
	}
	if err := l.Finish(second); err != first {
		t.Fatalf("second Finish = %v, want the first error", err)
	}
	if err := l.Err(); err != first {
		t.Fatalf("Err = %v, want the first error", err)
	}
}
