package raftlog

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hashicorp/raft"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func ids(recs []*pb.TxRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.GetTxId())
	}
	return out
}

// pagingFSM holds, in listing order: b@1, a@2 (one-shot DECIDE created
// it), s@3 (STAGE created it), d@5 (decided), c@7; f@6 finished and left.
func pagingFSM(t *testing.T) *testFSM {
	h := newTestFSM(t)
	h.begin("b")
	h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "a", Outcome: commit, CreateDeadlineUnixNanos: 9})
	h.stage("s", "p1")
	h.enlist("b", "p1")
	h.begin("d")
	h.begin("f")
	h.begin("c")
	h.decide("d", abort)
	h.decide("f", commit)
	h.finish("f")
	return h
}

func TestPendingAfter(t *testing.T) {
	h := pagingFSM(t)
	for _, tc := range []struct {
		name  string
		index uint64
		id    string
		n     int
		want  []string
	}{
		{"first page", 0, "", 2, []string{"b", "a"}},
		{"whole table", 0, "", 100, []string{"b", "a", "s", "d", "c"}},
		{"after a listed record", 2, "a", 2, []string{"s", "d"}},
		{"after the last record", 7, "c", 5, []string{}},
		{"after a finished record", 6, "f", 5, []string{"c"}},
		{"same index, smaller ID", 5, "a", 5, []string{"d", "c"}},
		{"same index, larger ID", 5, "e", 5, []string{"c"}},
		{"between indexes", 4, "zzz", 1, []string{"d"}},
		{"past the end", 99, "", 5, []string{}},
		{"n zero", 0, "", 0, []string{}},
		{"n negative", 0, "", -1, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(h.f.PendingAfter(tc.index, tc.id, tc.n)); !slices.Equal(got, tc.want) {
				t.Errorf("PendingAfter(%d, %q, %d) = %v, want %v", tc.index, tc.id, tc.n, got, tc.want)
			}
		})
	}
	if got, want := ids(h.f.PendingAfter(0, "", 100)), ids(h.f.Pending()); !slices.Equal(got, want) {
		t.Errorf("PendingAfter order %v, Pending order %v", got, want)
	}
}

// PendingAfter returns clones: changing one changes nothing in the FSM.
func TestPendingAfterClones(t *testing.T) {
	h := pagingFSM(t)
	h.f.PendingAfter(0, "", 1)[0].State = pb.TxState_TX_STATE_ABORTED
	if r, _ := h.f.Get("b"); r.GetState() != pb.TxState_TX_STATE_ACTIVE {
		t.Fatalf("record changed through a returned clone: %v", r)
	}
}

// The order survives a snapshot round trip (Restore rebuilds it).
func TestPendingAfterRestored(t *testing.T) {
	h := pagingFSM(t)
	got := NewFSM()
	if err := got.Restore(io.NopCloser(bytes.NewReader(persist(t, h.f)))); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 100} {
		if g, w := ids(got.PendingAfter(2, "a", n)), ids(h.f.PendingAfter(2, "a", n)); !slices.Equal(g, w) {
			t.Errorf("n=%d: restored %v, original %v", n, g, w)
		}
	}
}

// A listing paged while transactions begin, decide and finish between
// pages (the last one listed among them, half the time) returns every transaction live from its start to its end exactly
// once, in order; and the order index stays bounded by its tombstones.
func TestPendingAfterUnderChurn(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		h := newTestFSM(t)
		rng := rand.New(rand.NewPCG(seed, 0))
		next := 0
		churn(h, rng, &next, 200)
		before := ids(h.f.Pending())
		var listed []*pb.TxRecord
		for page := h.f.PendingAfter(0, "", 7); len(page) > 0; {
			listed = append(listed, page...)
			churn(h, rng, &next, 10)
			last := page[len(page)-1]
			if rng.IntN(2) == 0 { // the cursor's own record leaves the table
				h.decide(last.GetTxId(), abort)
				h.finish(last.GetTxId())
			}
			page = h.f.PendingAfter(last.GetBeginIndex(), last.GetTxId(), 7)
		}
		checkListing(t, seed, before, ids(h.f.Pending()), listed)
		assertOrderBounded(t, h.f)
	}
}

// churn applies n random commands: begin a new transaction, or decide,
// finish or enlist a live one.
func churn(h *testFSM, rng *rand.Rand, next *int, n int) {
	for range n {
		live := ids(h.f.Pending())
		if len(live) == 0 || rng.IntN(3) == 0 {
			h.begin(fmt.Sprintf("tx%03d", rng.IntN(1000)*1000+*next)) // IDs not in begin order
			*next++
			continue
		}
		id := live[rng.IntN(len(live))]
		switch rng.IntN(3) {
		case 0:
			h.decide(id, commit)
		case 1:
			h.finish(id) // a no-op until decided
		default:
			h.enlist(id, "p")
		}
	}
}

// checkListing: no ID twice, in listing order, and every ID live both
// before and after the listing was listed.
func checkListing(t *testing.T, seed uint64, before, after []string, listed []*pb.TxRecord) {
	t.Helper()
	seen := map[string]bool{}
	for i, r := range listed {
		if seen[r.GetTxId()] {
			t.Fatalf("seed %d: %s listed twice", seed, r.GetTxId())
		}
		seen[r.GetTxId()] = true
		if i > 0 && compareKeys(keyOf(listed[i-1]), keyOf(r)) >= 0 {
			t.Fatalf("seed %d: %s listed after %s", seed, r.GetTxId(), listed[i-1].GetTxId())
		}
	}
	for _, id := range before {
		if slices.Contains(after, id) && !seen[id] {
			t.Fatalf("seed %d: %s stayed live through the listing but was skipped", seed, id)
		}
	}
}

func assertOrderBounded(t *testing.T, f *FSM) {
	t.Helper()
	want := ids(f.Pending())
	f.mu.RLock()
	defer f.mu.RUnlock()
	o := f.s.order
	if len(o.keys) > 2*len(f.s.live)+1 {
		t.Fatalf("order holds %d keys (%d tombstones) for %d live records", len(o.keys), o.dead, len(f.s.live))
	}
	if got := ids(o.after(f.s.live, txKey{}, len(f.s.live)+1)); !slices.Equal(got, want) {
		t.Fatalf("order lists %v, Pending %v", got, want)
	}
}

// A page from the middle of a 100,000-record table: a binary search and
// the page's clones, where Pending clones and sorts the whole table.
func BenchmarkPendingAfter(b *testing.B) {
	f := NewFSM()
	index := uint64(0)
	for i := range 100_000 {
		index++
		data, err := Encode(pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: fmt.Sprintf("%032x", i), DeadlineUnixNanos: 1})
		if err != nil {
			b.Fatal(err)
		}
		f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data})
	}
	b.Run("PendingAfter-1000", func(b *testing.B) {
		for range b.N {
			f.PendingAfter(50_000, "", 1000)
		}
	})
	b.Run("Pending", func(b *testing.B) {
		for range b.N {
			f.Pending()
		}
	})
}
