package embedded

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
)

func TestIntentCodecRoundTrip(t *testing.T) {
	in := intent{
		deadline: time.Unix(0, 42),
		writes:   map[string][]byte{"a": []byte("1"), "": {}},
		reads:    []string{"r2", "r1", ""},
	}
	b := in.encode()
	if b[0] != 2 {
		t.Fatalf("version byte = %d, want 2", b[0])
	}
	out, err := decodeIntent(b)
	must(t, err)
	if !out.deadline.Equal(in.deadline) || len(out.writes) != 2 || string(out.writes["a"]) != "1" {
		t.Fatalf("round trip = %+v", out)
	}
	if want := []string{"", "r1", "r2"}; !reflect.DeepEqual(out.reads, want) {
		t.Fatalf("reads = %q, want %q", out.reads, want)
	}
	for i := range b {
		if _, err := decodeIntent(b[:i]); err == nil {
			t.Fatalf("truncated intent (%d bytes) decoded", i)
		}
	}
	if _, err := decodeIntent(append(b, 0)); !errors.Is(err, errCorruptIntent) {
		t.Fatalf("intent with trailing byte = %v, want errCorruptIntent", err)
	}
}

// TestIntentVersion1Decodes checks that intents written before read keys
// were recorded still decode, with no read keys.
func TestIntentVersion1Decodes(t *testing.T) {
	b := []byte{1}
	b = binary.BigEndian.AppendUint64(b, 42)
	b = append(b, 1, 1, 'a', 1, '1') // one write: "a" -> "1"
	out, err := decodeIntent(b)
	must(t, err)
	if !out.deadline.Equal(time.Unix(0, 42)) || len(out.writes) != 1 || string(out.writes["a"]) != "1" || len(out.reads) != 0 {
		t.Fatalf("version 1 intent = %+v", out)
	}
	if _, err := decodeIntent(append(b, 0)); err == nil {
		t.Fatal("version 1 intent with a read section decoded")
	}
	b[0] = 3
	if _, err := decodeIntent(b); !errors.Is(err, errCorruptIntent) {
		t.Fatalf("unknown version = %v, want errCorruptIntent", err)
	}
}

// TestPreparedReadLocksSurviveReopen checks that a prepared transaction
// that only read k still holds k after a crash: nobody can read or change
// it until the decision.
func TestPreparedReadLocksSurviveReopen(t *testing.T) {
	s, path := newStore(t)
	seed(t, s, "k", "100")
	tx, err := s.Begin(ctx, "reader")
	must(t, err)
	if v, _, err := tx.Get(ctx, "k"); err != nil || string(v) != "100" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	must(t, tx.Put(ctx, "w", []byte("1")))
	must(t, s.Prepare(ctx, "reader", tx, time.Now().Add(time.Minute)))
	must(t, s.Close())
	s = openStore(t, path)
	defer s.Close()
	wantState(t, s, "reader", participant.StatePrepared)
	if owner, ok := s.locks.holder("k"); !ok || owner != "reader" {
		t.Fatalf("holder(k) after reopen = %q, %v; want reader", owner, ok)
	}
	t2, err := s.Begin(ctx, "t2")
	must(t, err)
	if _, _, err := t2.Get(ctx, "k"); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Get of a prepared tx's read key after reopen = %v, want ErrLockTimeout", err)
	}
	if err := t2.Put(ctx, "k", []byte("0")); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Put of a prepared tx's read key after reopen = %v, want ErrLockTimeout", err)
	}
	must(t, s.Commit(ctx, "reader"))
	must(t, t2.Put(ctx, "k", []byte("0")))
	must(t, s.Rollback(ctx, "t2", t2))
	wantValue(t, s, "k", "100")
	wantValue(t, s, "w", "1")
}

// TestAbortReleasesReadLocksAfterReopen checks Abort frees re-acquired read
// locks too.
func TestAbortReleasesReadLocksAfterReopen(t *testing.T) {
	s, path := newStore(t)
	tx, err := s.Begin(ctx, "reader")
	must(t, err)
	if _, ok, err := tx.Get(ctx, "k"); err != nil || ok {
		t.Fatalf("Get of missing key = %v, %v", ok, err)
	}
	must(t, s.Prepare(ctx, "reader", tx, time.Now().Add(time.Minute)))
	must(t, s.Close())
	s = openStore(t, path)
	defer s.Close()
	if _, ok := s.locks.holder("k"); !ok {
		t.Fatal("read-only prepared tx lost its lock on k after reopen")
	}
	must(t, s.Abort(ctx, "reader"))
	if owner, ok := s.locks.holder("k"); ok {
		t.Fatalf("k still held by %q after Abort", owner)
	}
}

// seed commits key=value through a one-write transaction.
func seed(t *testing.T, s *Store, key, value string) {
	t.Helper()
	prepared(t, s, "seed-"+key, key, value)
	must(t, s.Commit(ctx, "seed-"+key))
}
