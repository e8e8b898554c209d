package coordinator

import (
	"testing"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func TestListLimit(t *testing.T) {
	for _, tc := range []struct {
		limit int32
		want  int
		ok    bool
	}{
		{0, DefaultListLimit, true},
		{1, 1, true},
		{MaxListLimit, MaxListLimit, true},
		{MaxListLimit + 1, MaxListLimit, true},
		{1<<31 - 1, MaxListLimit, true},
		{-1, 0, false},
	} {
		got, err := listLimit(tc.limit)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("listLimit(%d) = %d, %v; want %d, ok=%v", tc.limit, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzPageToken: decoding never panics; a token decodes to the place it
// was made from; whatever decodes is a place a record can have.
func FuzzPageToken(f *testing.F) {
	f.Add(uint64(1), "tx", "")
	f.Add(uint64(1<<64-1), "a:b:c", "MTo1OnR4")
	f.Add(uint64(7), "é", "garbage")
	f.Fuzz(func(t *testing.T, index uint64, id, tok string) {
		if index > 0 && validID("tx_id", id) == nil {
			gi, gid, err := decodePageToken(encodePageToken(&arbiterpb.TxRecord{BeginIndex: index, TxId: id}))
			if err != nil || gi != index || gid != id {
				t.Fatalf("(%d, %q) round-tripped to (%d, %q), %v", index, id, gi, gid, err)
			}
		}
		gi, gid, err := decodePageToken(tok)
		if err == nil && tok != "" && (gi == 0 || validID("tx_id", gid) != nil) {
			t.Fatalf("token %q decoded to (%d, %q)", tok, gi, gid)
		}
	})
}
