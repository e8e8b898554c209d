package txhistory

import (
	"strconv"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// render builds the wire form of a history (the TraceTx RPC's TxTrace).
// The caller holds the History's lock; all formatting happens here, off the
// hot path.
func (tx *txHistory) render() *arbiterpb.TxTrace {
	out := &arbiterpb.TxTrace{EventsOmitted: tx.omitted}
	for _, p := range tx.parts {
		out.Participants = append(out.Participants, &arbiterpb.ParticipantTrace{
			ParticipantId: p.id, Vote: p.vote, Reason: p.reason, PrepareAttempts: p.prepares,
			AckedOutcome: p.ackOut, AckedUnixNanos: p.ackAt, Phase2Retries: p.retries, LastError: p.lastErr,
		})
	}
	for i := range tx.events {
		e := &tx.events[i]
		out.Events = append(out.Events, &arbiterpb.TraceEvent{UnixNanos: e.at, Text: e.String()})
	}
	return out
}

// String is the event as the timeline shows it.
func (e *event) String() string {
	switch e.kind {
	case evPrepare:
		if e.n > 1 {
			return "prepare sent to " + e.pid + " (attempt " + strconv.FormatUint(e.n, 10) + ")"
		}
		return "prepare sent to " + e.pid
	case evVote:
		s := "vote " + VoteName(e.vote) + " from " + e.pid
		if e.text != "" {
			s += ": " + e.text
		}
		return s
	case evAck:
		return "phase 2 ack from " + e.pid + " (" + OutcomeName(e.out) + ")"
	case evRetry:
		return e.retryString()
	case evDecided:
		return "decided " + OutcomeName(e.out) + " at index " + strconv.FormatUint(e.n, 10)
	}
	return e.text
}

func (e *event) retryString() string {
	if e.last <= e.n {
		return "phase-2 retry " + strconv.FormatUint(e.n, 10) + " to " + e.pid + ": " + e.text
	}
	return "phase-2 retries " + strconv.FormatUint(e.n, 10) + "-" + strconv.FormatUint(e.last, 10) + " to " + e.pid +
		" (last at " + time.Unix(0, e.lastAt).UTC().Format("15:04:05.000") + "): " + e.text
}

// VoteName is a vote as operators read it: "none" before one arrives,
// else the enum name in lower case with dashes ("yes", "read-only").
func VoteName(v arbiterpb.Vote) string {
	if v == arbiterpb.Vote_VOTE_UNKNOWN {
		return "none"
	}
	return enumName(v.String(), "VOTE_")
}

// OutcomeName is "COMMIT", "ABORT", or "none" for no decision.
func OutcomeName(o arbiterpb.Outcome) string {
	if o == arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return "none"
	}
	return strings.TrimPrefix(o.String(), "OUTCOME_")
}

func enumName(s, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s, prefix)), "_", "-")
}
