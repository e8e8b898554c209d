package raftlog

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Result is the outcome of applying one command.
type Result struct {
	// Tx is a clone of the record after apply; nil for REGISTER and FINISH
	// and when there is no record.
	Tx *arbiterpb.TxRecord
	// AlreadyDecided is set when DECIDE found an existing decision; Tx holds
	// that decision, which is final (first DECIDE wins).
	AlreadyDecided bool
	// Err is a domain outcome such as ErrUnknownTx; the log itself is fine.
	Err error
}

// entry is where a command sits in the log: its index, and the time the
// leader appended it (raft.Log.AppendedAt, replicated with the entry: the
// same on every replica), which stamps the decisions it records.
type entry struct {
	index uint64
	at    int64 // unix nanoseconds; 0 if unknown
}

// process applies one decoded command at a log entry to s. It is the whole
// state machine: deterministic, no clock, no IO. It panics only on a command
// type it does not know, which means the log and the code disagree.
func process(s *state, e entry, t arbiterpb.CommandType, m proto.Message) Result {
	index := e.index
	switch c := m.(type) {
	case *arbiterpb.BeginCommand:
		return begin(s, index, c)
	case *arbiterpb.EnlistCommand:
		return enlist(s, c)
	case *arbiterpb.DecideCommand:
		return decide(s, e, c)
	case *arbiterpb.StageCommand:
		return stage(s, index, c)
	case *arbiterpb.FinishCommand:
		return finish(s, e, c)
	case *arbiterpb.RegisterCommand:
		s.participants[c.GetParticipantId()] = c.GetAddress()
		return Result{}
	default:
		panic(fmt.Sprintf("raftlog: apply: unknown command %v (%T) at index %d", t, m, index))
	}
}

func begin(s *state, index uint64, c *arbiterpb.BeginCommand) Result {
	if old, ok := s.lookup(c.GetTxId()); ok {
		return Result{Tx: clone(old), Err: ErrTxExists}
	}
	rec := &arbiterpb.TxRecord{
		TxId:              c.GetTxId(),
		State:             arbiterpb.TxState_TX_STATE_ACTIVE,
		DeadlineUnixNanos: c.GetDeadlineUnixNanos(),
		BeginIndex:        index,
		ClientId:          c.GetClientId(),
	}
	s.put(rec)
	return Result{Tx: clone(rec)}
}

func enlist(s *state, c *arbiterpb.EnlistCommand) Result {
	old, ok := s.lookup(c.GetTxId())
	switch {
	case !ok:
		return Result{Err: ErrUnknownTx}
	case decided(old):
		return Result{Tx: clone(old), Err: ErrNotActive}
	case slices.Contains(old.Participants, c.GetParticipantId()):
		return Result{Tx: clone(old)}
	case old.GetState() == arbiterpb.TxState_TX_STATE_STAGING:
		return Result{Tx: clone(old), Err: ErrCommitting} // rule 2: the staged set is closed
	}
	rec := clone(old)
	rec.Participants = union(rec.Participants, []string{c.GetParticipantId()})
	s.put(rec)
	return Result{Tx: clone(rec)}
}

func decide(s *state, e entry, c *arbiterpb.DecideCommand) Result {
	index := e.index
	st, ok := decidedState(c.GetOutcome())
	if !ok {
		return Result{Err: fmt.Errorf("raftlog: decide %q: invalid outcome %v", c.GetTxId(), c.GetOutcome())}
	}
	old, ok := s.lookup(c.GetTxId())
	if !ok && c.GetCreateDeadlineUnixNanos() == 0 {
		return Result{Err: ErrUnknownTx}
	}
	if !ok {
		old = &arbiterpb.TxRecord{TxId: c.GetTxId(), DeadlineUnixNanos: c.GetCreateDeadlineUnixNanos(),
			BeginIndex: index, ClientId: c.GetCreateClientId()}
	}
	switch {
	case decided(old):
		return Result{Tx: clone(old), AlreadyDecided: true}
	case old.GetState() == arbiterpb.TxState_TX_STATE_STAGING && c.GetPresumed():
		return Result{Tx: clone(old), Err: ErrStaging}
	case st == arbiterpb.TxState_TX_STATE_COMMITTED && !covers(union(c.GetParticipants(), c.GetReadOnly()), old.GetParticipants()):
		return Result{Tx: clone(old), Err: ErrUnvoted} // rule 1
	}
	rec := clone(old)
	rec.State = st
	if st == arbiterpb.TxState_TX_STATE_COMMITTED {
		rec.Participants = union(c.GetParticipants(), nil) // rule 4: the yes voters only
		rec.ReadOnly = union(c.GetReadOnly(), nil)
	} else {
		rec.Participants = union(rec.Participants, c.GetParticipants())
	}
	rec.DecidedIndex = index
	rec.Reason = c.GetReason()
	s.decidedLive++
	s.put(rec)
	s.decisions.record(eventOf(rec, index, 0, e.at))
	return Result{Tx: clone(rec)}
}

// stage moves an active transaction (or a new one) to STAGING with exactly
// the participants the run prepares. A STAGING record is returned as it is
// for a STAGE naming the same set (a retried STAGE) and refused for any
// other (rule 3); a decided one is returned with AlreadyDecided. A STAGE
// that leaves out a participant the record names is refused (rule 1: the
// implicit commit would name a participant that never voted).
func stage(s *state, index uint64, c *arbiterpb.StageCommand) Result {
	old, ok := s.lookup(c.GetTxId())
	if !ok {
		old = &arbiterpb.TxRecord{TxId: c.GetTxId(), DeadlineUnixNanos: c.GetDeadlineUnixNanos(),
			BeginIndex: index, ClientId: c.GetClientId()}
	}
	parts := union(c.GetParticipants(), nil)
	switch {
	case decided(old):
		return Result{Tx: clone(old), AlreadyDecided: true}
	case old.GetState() == arbiterpb.TxState_TX_STATE_STAGING && slices.Equal(old.GetParticipants(), parts):
		return Result{Tx: clone(old)}
	case old.GetState() == arbiterpb.TxState_TX_STATE_STAGING:
		return Result{Tx: clone(old), Err: ErrParticipantsDiffer}
	case len(parts) == 0 || !covers(parts, old.GetParticipants()):
		return Result{Tx: clone(old), Err: ErrUnvoted}
	}
	rec := clone(old)
	rec.State = arbiterpb.TxState_TX_STATE_STAGING
	rec.Participants = parts
	s.put(rec)
	return Result{Tx: clone(rec)}
}

// finish records implicit commits (a STAGING record's set is exactly the
// staged set, every member of which voted yes for it: rule 1 holds by
// construction), moves decided records to the finished store stamped with
// the entry's time, and forgets finished records older than the uniqueness
// window's cut.
func finish(s *state, e entry, c *arbiterpb.FinishCommand) Result {
	var position uint32
	for _, id := range c.GetImplicitCommitTxIds() {
		if old, ok := s.live[id]; ok && old.GetState() == arbiterpb.TxState_TX_STATE_STAGING {
			rec := clone(old)
			rec.State, rec.DecidedIndex = arbiterpb.TxState_TX_STATE_COMMITTED, e.index
			rec.Reason = "committed implicitly: staged, and every participant voted yes"
			s.put(rec)
			s.decidedLive++
			s.decisions.record(eventOf(rec, e.index, position, e.at))
			position++
		}
	}
	for _, id := range slices.Concat(c.GetTxIds(), c.GetImplicitCommitTxIds()) {
		old, ok := s.live[id]
		if !ok || !decided(old) {
			continue
		}
		rec := clone(old)
		rec.Finished, rec.FinishedUnixNanos = true, c.GetNowUnixNanos()
		s.remove(id)
		s.decidedLive--
		s.finished.push(rec)
	}
	s.finished.forgetBefore(c.GetForgetBeforeUnixNanos())
	return Result{}
}

func decidedState(o arbiterpb.Outcome) (arbiterpb.TxState, bool) {
	switch o {
	case arbiterpb.Outcome_OUTCOME_COMMIT:
		return arbiterpb.TxState_TX_STATE_COMMITTED, true
	case arbiterpb.Outcome_OUTCOME_ABORT:
		return arbiterpb.TxState_TX_STATE_ABORTED, true
	default:
		return 0, false
	}
}

func decided(r *arbiterpb.TxRecord) bool {
	return r.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED ||
		r.GetState() == arbiterpb.TxState_TX_STATE_ABORTED
}

// covers reports whether every ID in want is in have (both sorted).
func covers(have, want []string) bool {
	for _, id := range want {
		if _, found := slices.BinarySearch(have, id); !found {
			return false
		}
	}
	return true
}

// union returns the sorted, deduplicated union of a and b, without empty IDs.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, id := range slices.Concat(a, b) {
		if id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func clone(r *arbiterpb.TxRecord) *arbiterpb.TxRecord {
	if r == nil {
		return nil
	}
	return proto.Clone(r).(*arbiterpb.TxRecord)
}
