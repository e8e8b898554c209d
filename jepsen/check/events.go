package check

import (
	"slices"
	"strings"

	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/participant/outbox"
)

// NameEvents is the events workload's checker.
const NameEvents = "events"

// Events checks the outbox against the decisions: every transaction whose
// COMMIT names the outbox (in any coordinator's replayed table) has its
// event in the stream exactly once; no message belongs to a transaction
// that did not commit (aborted, or never decided); nothing committed is
// left unpublished in the outbox's store. JetStream's duplicate window
// (2 minutes, longer than a run) must have dropped every republish.
func Events(run *history.Run) Result {
	ev := run.Final.Events
	var e evidence
	committed := committedNaming(run.Final, ev.Outbox)
	counts := map[string]int{}
	for _, id := range ev.Stream {
		counts[id]++
	}
	ids := make([]string, 0, len(committed))
	for tx := range committed {
		ids = append(ids, tx)
	}
	slices.Sort(ids)
	for _, tx := range ids {
		id := outbox.MsgID(tx, ev.Outbox, 0)
		switch n := counts[id]; {
		case n == 0 && slices.ContainsFunc(ev.Pending, func(k string) bool { return strings.Contains(k, tx) }):
			e.addf("tx %s committed; its event is still pending in the outbox's store at the end", tx)
		case n == 0:
			e.addf("tx %s committed; its event %s was never published", tx, id)
		case n > 1:
			e.addf("tx %s: its event %s is in the stream %d times (the duplicate window did not drop a republish)", tx, id, n)
		}
	}
	streamed := make([]string, 0, len(counts))
	for id := range counts {
		streamed = append(streamed, id)
	}
	slices.Sort(streamed)
	for _, id := range streamed {
		if tx := txOfMsgID(id); !committed[tx] {
			e.addf("message %s published, but tx %s %s", id, tx, decisionWord(run.Final, tx))
		}
	}
	e.notef("%d committed transactions name outbox %s; the stream holds %d messages (%d distinct IDs); %d left pending in the outbox",
		len(ids), ev.Outbox, len(ev.Stream), len(counts), len(ev.Pending))
	return e.result(NameEvents, len(ids))
}

// committedNaming is every tx whose COMMIT names participant, on any node.
func committedNaming(f history.Final, participant string) map[string]bool {
	out := map[string]bool{}
	for _, txs := range f.Committed {
		for tx, parts := range txs {
			if slices.Contains(parts, participant) {
				out[tx] = true
			}
		}
	}
	return out
}

// txOfMsgID strips the branch and sequence of a tx/branch/seq message ID.
func txOfMsgID(id string) string {
	for range 2 {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[:i]
		}
	}
	return id
}

func decisionWord(f history.Final, tx string) string {
	for _, txs := range f.Committed {
		if _, ok := txs[tx]; ok {
			return "committed without naming the outbox"
		}
	}
	for _, d := range f.Decisions {
		switch d[tx] {
		case "abort":
			return "was aborted"
		case "commit":
			return "committed without naming the outbox"
		}
	}
	return "was never decided"
}
