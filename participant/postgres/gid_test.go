package postgres

import (
	"strings"
	"testing"
	"time"
)

// FuzzGIDRoundTrip checks that every valid transaction ID survives the gid
// encoding with its deadline, and that a gid never matches another ID's
// prefix-plus-digits lookup (the SQL in findPrepared).
func FuzzGIDRoundTrip(f *testing.F) {
	for _, seed := range []string{"a", "a:5", `it's\`, "x:1:2", "ü"} {
		f.Add(seed, int64(1767225600123))
	}
	s := &Store{id: "p1"}
	f.Fuzz(func(t *testing.T, txID string, ms int64) {
		if validTxID(txID) != nil || ms < 0 {
			return
		}
		gid := s.gidOf(txID, time.UnixMilli(ms))
		if len(gid) > 199 {
			t.Fatalf("gid of %d bytes exceeds PostgreSQL's 199", len(gid))
		}
		got, deadline, ok := s.parseGID(gid)
		if !ok || got != txID || deadline.UnixMilli() != ms {
			t.Fatalf("parseGID(%q) = %q, %v, %v", gid, got, deadline, ok)
		}
		// Another ID that is a prefix of this one must not claim the gid.
		if i := strings.LastIndexByte(txID, ':'); i > 0 {
			rest := strings.TrimPrefix(gid, s.txPrefix(txID[:i]))
			if strings.Trim(rest, "0123456789") == "" {
				t.Fatalf("gid %q matches the lookup of %q", gid, txID[:i])
			}
		}
	})
}

func TestIDLimitsFitTheGID(t *testing.T) {
	s := &Store{id: strings.Repeat("p", maxParticipantLen)}
	gid := s.gidOf(strings.Repeat("t", maxTxIDLen), time.UnixMilli(1<<62))
	if len(gid) > 199 {
		t.Fatalf("longest gid is %d bytes, PostgreSQL allows 199", len(gid))
	}
	if quoteLiteral(`a'b\c`) != `E'a''b\\c'` {
		t.Fatalf("quoteLiteral = %s", quoteLiteral(`a'b\c`))
	}
}
