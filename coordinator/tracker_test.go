package coordinator

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
func TestTrackerRecordsACommit(t *testing.T) {
	tk := newTracker(10, fakeClock())
	down := errors.New("connection refused")
	tk.prepareSent("tx", "a")
	tk.prepareSent("tx", "b")
	tk.vote("tx", "a", arbiterpb.Vote_VOTE_YES, "")
	tk.prepareSent("tx", "b")
	tk.vote("tx", "b", arbiterpb.Vote_VOTE_YES, "")
	tk.decided("tx", arbiterpb.Outcome_OUTCOME_COMMIT, 42)
	tk.acked("tx", "a", arbiterpb.Outcome_OUTCOME_COMMIT)
	for range 3 {
		tk.retry("tx", "b", down)
	}
	tk.retry("tx", "b", errors.New("deadline exceeded"))
	tk.acked("tx", "b", arbiterpb.Outcome_OUTCOME_COMMIT)
	tk.event("tx", "finished")
	tr, ok := tk.get("tx")
	if !ok {
		t.Fatal("no trace")
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
	if _, ok := tk.get("other"); ok {
		t.Error("a trace of a transaction never seen")
	}
}

func TestTrackerVoteNoAndText(t *testing.T) {
	tk := newTracker(10, fakeClock())
	tk.vote("tx", "a", arbiterpb.Vote_VOTE_NO, "insufficient funds")
	tk.vote("tx", "b", arbiterpb.Vote(3), "")
	tk.retry("tx", "a", nil)
	tk.vote("tx", "c", arbiterpb.Vote_VOTE_NO, strings.Repeat("é", 200))
	tr, _ := tk.get("tx")
	got := texts(tr)
	if got[0] != "vote no from a: insufficient funds" || got[2] != "phase-2 retry 1 to a: unknown error" {
		t.Errorf("timeline %q", got)
	}
	if r := tr.GetParticipants()[2].GetReason(); len(r) > maxTraceText+len("…") || !strings.HasSuffix(r, "é…") {
		t.Errorf("long reason not clipped on a rune boundary: %d bytes %q", len(r), r[len(r)-8:])
	}
	if VoteName(arbiterpb.Vote_VOTE_UNKNOWN) != "none" || OutcomeName(arbiterpb.Outcome_OUTCOME_UNKNOWN) != "none" {
		t.Error("zero values are not named none")
	}
}

// The tracker keeps the most recent transactions, oldest evicted first.
func TestTrackerEvictsOldest(t *testing.T) {
	tk := newTracker(3, fakeClock())
	for i := range 5 {
		tk.event(fmt.Sprint("tx", i), "begun")
	}
	tk.event("tx3", "again") // not a new transaction: evicts nothing
	for i := range 5 {
		_, ok := tk.get(fmt.Sprint("tx", i))
		if want := i >= 2; ok != want {
			t.Errorf("tx%d kept=%v, want %v", i, ok, want)
		}
	}
	if len(tk.byID) != 3 || len(tk.ring) != 3 {
		t.Errorf("%d traces, ring of %d; want 3", len(tk.byID), len(tk.ring))
	}
}

// A timeline keeps its head and its latest events, and counts the rest.
func TestTrackerBoundsTimeline(t *testing.T) {
	tk := newTracker(1, fakeClock())
	for i := range maxTraceEvents + 10 {
		tk.event("tx", fmt.Sprint("e", i))
	}
	tr, _ := tk.get("tx")
	got := texts(tr)
	if len(got) != maxTraceEvents || tr.GetEventsOmitted() != 10 {
		t.Fatalf("%d events, %d omitted", len(got), tr.GetEventsOmitted())
	}
	if got[traceHeadEvents-1] != fmt.Sprint("e", traceHeadEvents-1) || got[traceHeadEvents] != fmt.Sprint("e", traceHeadEvents+10) ||
		got[len(got)-1] != fmt.Sprint("e", maxTraceEvents+9) {
		t.Errorf("kept %q", got)
	}
}

func TestTrackerNilAndOff(t *testing.T) {
	if newTracker(0, time.Now) != nil {
		t.Fatal("capacity 0 must turn tracing off")
	}
	var tk *tracker
	tk.event("tx", "x")
	tk.vote("tx", "a", arbiterpb.Vote_VOTE_YES, "")
	tk.prepareSent("tx", "a")
	tk.acked("tx", "a", arbiterpb.Outcome_OUTCOME_COMMIT)
	tk.retry("tx", "a", errors.New("x"))
	tk.decided("tx", arbiterpb.Outcome_OUTCOME_COMMIT, 1)
	if _, ok := tk.get("tx"); ok {
		t.Fatal("a nil tracker returned a trace")
	}
}

// Run with -race: concurrent writers and readers on overlapping IDs.
func TestTrackerConcurrent(t *testing.T) {
	tk := newTracker(50, time.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				id := fmt.Sprint("tx", i%80)
				tk.prepareSent(id, fmt.Sprint("p", g))
				tk.retry(id, "p", errors.New("down"))
				tk.get(id)
			}
		}()
	}
	wg.Wait()
	if len(tk.byID) != 50 {
		t.Fatalf("%d traces, want 50", len(tk.byID))
	}
}

func BenchmarkTrackerCommit(b *testing.B) {
	tk := newTracker(10000, time.Now)
	ids := make([]string, 1<<14)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i)
	}
	b.ReportAllocs()
	for i := range b.N {
		id := ids[i&(len(ids)-1)]
		tk.prepareSent(id, "a")
		tk.prepareSent(id, "b")
		tk.vote(id, "a", arbiterpb.Vote_VOTE_YES, "")
		tk.vote(id, "b", arbiterpb.Vote_VOTE_YES, "")
		tk.decided(id, arbiterpb.Outcome_OUTCOME_COMMIT, uint64(i))
		tk.acked(id, "a", arbiterpb.Outcome_OUTCOME_COMMIT)
		tk.acked(id, "b", arbiterpb.Outcome_OUTCOME_COMMIT)
		tk.event(id, "finished")
	}
}
