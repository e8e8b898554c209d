package txhistory

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// fakeClock advances one millisecond per reading.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func texts(tr *arbiterpb.TxTrace) []string {
	var out []string
	for _, e := range tr.GetEvents() {
		out = append(out, e.GetText())
	}
	return out
}

// A commit with one participant retried: per-participant state and the
// timeline, with consecutive identical retries merged into one entry.
func TestHistoryRecordsACommit(t *testing.T) {
	h := New(10, fakeClock())
	down := errors.New("connection refused")
	h.PrepareSent("tx", "a")
	h.PrepareSent("tx", "b")
	h.Vote("tx", "a", arbiterpb.Vote_VOTE_YES, "")
	h.PrepareSent("tx", "b")
	h.Vote("tx", "b", arbiterpb.Vote_VOTE_YES, "")
	h.Decided("tx", arbiterpb.Outcome_OUTCOME_COMMIT, 42)
	h.Acked("tx", "a", arbiterpb.Outcome_OUTCOME_COMMIT)
	for range 3 {
		h.Retry("tx", "b", down)
	}
	h.Retry("tx", "b", errors.New("deadline exceeded"))
	h.Acked("tx", "b", arbiterpb.Outcome_OUTCOME_COMMIT)
	h.Event("tx", "finished")
	tr, ok := h.Get("tx")
	if !ok {
		t.Fatal("no history")
	}
	want := []string{"prepare sent to a", "prepare sent to b", "vote yes from a", "prepare sent to b (attempt 2)",
		"vote yes from b", "decided COMMIT at index 42", "phase 2 ack from a (COMMIT)",
		"phase-2 retries 1-3 to b (last at 03:04:05.010): connection refused",
		"phase-2 retry 4 to b: deadline exceeded", "phase 2 ack from b (COMMIT)", "finished"}
	if got := texts(tr); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b := tr.GetParticipants()[1]
	if b.GetParticipantId() != "b" || b.GetPrepareAttempts() != 2 || b.GetVote() != arbiterpb.Vote_VOTE_YES ||
		b.GetPhase2Retries() != 4 || b.GetLastError() != "deadline exceeded" ||
		b.GetAckedOutcome() != arbiterpb.Outcome_OUTCOME_COMMIT || b.GetAckedUnixNanos() == 0 {
		t.Errorf("participant b: %v", b)
	}
	if _, ok := h.Get("other"); ok {
		t.Error("a history of a transaction never seen")
	}
}

func TestHistoryVoteNoAndText(t *testing.T) {
	h := New(10, fakeClock())
	h.Vote("tx", "a", arbiterpb.Vote_VOTE_NO, "insufficient funds")
	h.Vote("tx", "b", arbiterpb.Vote(3), "")
	h.Retry("tx", "a", nil)
	h.Vote("tx", "c", arbiterpb.Vote_VOTE_NO, strings.Repeat("é", 200))
	tr, _ := h.Get("tx")
	got := texts(tr)
	if got[0] != "vote no from a: insufficient funds" || got[2] != "phase-2 retry 1 to a: unknown error" {
		t.Errorf("timeline %q", got)
	}
	if r := tr.GetParticipants()[2].GetReason(); len(r) > maxText+len("…") || !strings.HasSuffix(r, "é…") {
		t.Errorf("long reason not clipped on a rune boundary: %d bytes %q", len(r), r[len(r)-8:])
	}
	if VoteName(arbiterpb.Vote_VOTE_UNKNOWN) != "none" || OutcomeName(arbiterpb.Outcome_OUTCOME_UNKNOWN) != "none" {
		t.Error("zero values are not named none")
	}
}

// A history keeps the most recent transactions, oldest evicted first.
func TestHistoryEvictsOldest(t *testing.T) {
	h := New(3, fakeClock())
	for i := range 5 {
		h.Event(fmt.Sprint("tx", i), "begun")
	}
	h.Event("tx3", "again") // not a new transaction: evicts nothing
	for i := range 5 {
		_, ok := h.Get(fmt.Sprint("tx", i))
		if want := i >= 2; ok != want {
			t.Errorf("tx%d kept=%v, want %v", i, ok, want)
		}
	}
	if len(h.byID) != 3 || len(h.ring) != 3 {
		t.Errorf("%d histories, ring of %d; want 3", len(h.byID), len(h.ring))
	}
}

// A timeline keeps its head and its latest events, and counts the rest.
func TestHistoryBoundsTimeline(t *testing.T) {
	h := New(1, fakeClock())
	for i := range maxEvents + 10 {
		h.Event("tx", fmt.Sprint("e", i))
	}
	tr, _ := h.Get("tx")
	got := texts(tr)
	if len(got) != maxEvents || tr.GetEventsOmitted() != 10 {
		t.Fatalf("%d events, %d omitted", len(got), tr.GetEventsOmitted())
	}
	if got[headEvents-1] != fmt.Sprint("e", headEvents-1) || got[headEvents] != fmt.Sprint("e", headEvents+10) ||
		got[len(got)-1] != fmt.Sprint("e", maxEvents+9) {
		t.Errorf("kept %q", got)
	}
}

func TestHistoryNilAndOff(t *testing.T) {
	if New(0, time.Now) != nil {
		t.Fatal("capacity 0 must turn the history off")
	}
	var h *History
	h.Event("tx", "x")
	h.Vote("tx", "a", arbiterpb.Vote_VOTE_YES, "")
	h.PrepareSent("tx", "a")
	h.Acked("tx", "a", arbiterpb.Outcome_OUTCOME_COMMIT)
	h.Retry("tx", "a", errors.New("x"))
	h.Decided("tx", arbiterpb.Outcome_OUTCOME_COMMIT, 1)
	if _, ok := h.Get("tx"); ok {
		t.Fatal("a nil history returned one")
	}
}

// Run with -race: concurrent writers and readers on overlapping IDs.
func TestHistoryConcurrent(t *testing.T) {
	h := New(50, time.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				id := fmt.Sprint("tx", i%80)
				h.PrepareSent(id, fmt.Sprint("p", g))
				h.Retry(id, "p", errors.New("down"))
				h.Get(id)
			}
		}()
	}
	wg.Wait()
	if len(h.byID) != 50 {
		t.Fatalf("%d histories, want 50", len(h.byID))
	}
}

func BenchmarkHistoryCommit(b *testing.B) {
	h := New(10000, time.Now)
	ids := make([]string, 1<<14)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i)
	}
	b.ReportAllocs()
	for i := range b.N {
		id := ids[i&(len(ids)-1)]
		h.PrepareSent(id, "a")
		h.PrepareSent(id, "b")
		h.Vote(id, "a", arbiterpb.Vote_VOTE_YES, "")
		h.Vote(id, "b", arbiterpb.Vote_VOTE_YES, "")
		h.Decided(id, arbiterpb.Outcome_OUTCOME_COMMIT, uint64(i))
		h.Acked(id, "a", arbiterpb.Outcome_OUTCOME_COMMIT)
		h.Acked(id, "b", arbiterpb.Outcome_OUTCOME_COMMIT)
		h.Event(id, "finished")
	}
}
