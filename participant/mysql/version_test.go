package mysql

import (
	"errors"
	"testing"
)

// Servers that roll prepared branches back on disconnect are refused.
func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"10.11.19-MariaDB-0+deb12u1-log": true, "10.5.2-MariaDB": true, "10.5.1-MariaDB": false,
		"10.4.30-MariaDB": false, "8.0.36": true, "5.7.7-log": true, "5.7.6": false, "5.6.51": false, "garbage": false,
	} {
		err := checkVersion(v)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrUnsafeServer)) {
			t.Errorf("checkVersion(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}

// parseRecovered maps XA RECOVER's row back to the XID, and ours to the
// transaction ID, only for this participant's format and bqual.
func TestParseRecovered(t *testing.T) {
	s := &Store{id: "bank1"}
	x := s.xidOf("tx-1")
	got, ok := parseRecovered(x.format, len(x.gtrid), len(x.bqual), []byte(x.gtrid+x.bqual))
	if !ok || got != x {
		t.Fatalf("round trip = %v, %v", got, ok)
	}
	if id, mine := s.ours(got); !mine || id != "tx-1" {
		t.Fatalf("ours = %q, %v", id, mine)
	}
	for _, other := range []xid{{format: 1, gtrid: "tx-1", bqual: "bank1"}, {format: xidFormat, gtrid: "tx-1", bqual: "bank2"}} {
		if _, mine := s.ours(other); mine {
			t.Fatalf("%v taken for ours", other)
		}
	}
	if _, ok := parseRecovered(1, 3, 3, []byte("abcde")); ok {
		t.Fatal("lengths that do not add up accepted")
	}
}
