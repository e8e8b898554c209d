package txid

import (
	"strings"
	"testing"
	"time"
)

func TestNewCarriesItsTime(t *testing.T) {
	now := time.UnixMilli(1_796_000_000_123)
	id := New(now)
	if len(id) != Len || strings.ToLower(id) != id {
		t.Fatalf("id %q: want %d lowercase hex digits", id, Len)
	}
	got, ok := Time(id)
	if !ok || !got.Equal(now) {
		t.Fatalf("Time(%q) = %v %v, want %v", id, got, ok, now)
	}
	if other := New(now); other == id {
		t.Fatal("two IDs made at the same millisecond are equal")
	}
	if later := New(now.Add(time.Millisecond)); later <= id {
		t.Fatalf("IDs do not sort by time: %s then %s", id, later)
	}
}

func TestTimeRefusesOtherStrings(t *testing.T) {
	good := New(time.Now())
	for name, id := range map[string]string{
		"empty":       "",
		"short":       good[:31],
		"long":        good + "0",
		"upper case":  strings.ToUpper(good),
		"not hex":     "g" + good[1:],
		"version 4":   good[:12] + "4" + good[13:],
		"variant 11":  good[:16] + "c" + good[17:],
		"user string": "order-12345",
	} {
		if _, ok := Time(id); ok {
			t.Errorf("%s: Time(%q) accepted it", name, id)
		}
	}
}

func FuzzTime(f *testing.F) {
	f.Add(New(time.Now()))
	f.Add("0000000000007000800000000000000")
	f.Fuzz(func(t *testing.T, id string) {
		if tm, ok := Time(id); ok {
			if back := New(tm); back[:12] != id[:12] {
				t.Fatalf("time of %q does not round trip: %q", id, back)
			}
		}
	})
}
