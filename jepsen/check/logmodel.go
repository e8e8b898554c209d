package check

import (
	"slices"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// logRec is a tx's record as re-derived from one node's log.
type logRec struct {
	state    string   // logActive, logStaging, or a decided outcome ("commit", "abort")
	parts    []string // sorted
	finished bool
}

const (
	logActive  = "active"
	logStaging = "staging"
)

func (r *logRec) decided() bool {
	return r.state == history.OutcomeCommit || r.state == history.OutcomeAbort
}

// logTx is one tx as re-derived from one node's log: its record now (nil:
// none, or forgotten), its first decision, and what came after it.
type logTx struct {
	rec     *logRec
	outcome string   // the first decision, "" while undecided
	index   uint64   // its log index
	named   []string // the participants the first COMMIT names
	// later are indexes of DECIDEs with the other outcome than the
	// record's, which the write-once rule ignores.
	later []uint64
	// forgotten is the index of the FINISH whose cut last forgot the
	// record; again the indexes at which a forgotten record was created
	// anew (a decided ID run again after its window).
	forgotten uint64
	again     []uint64
}

// finishedRec is an entry of the finished FIFO that the window's cut
// forgets from the front, as the FSM's finished ring does.
type finishedRec struct {
	id  string
	at  int64
	rec *logRec
}

// logModel re-derives one node's transaction table from its decoded log
// events, without the FSM's code (raftlog/DESIGN.md's rules as the fault
// suite reads them):
//   - BEGIN creates an active record; ENLIST adds a participant to an
//     active one (refused once STAGING or decided);
//   - STAGE moves an active (or new) record to STAGING over its set, refused
//     for an empty set, one that leaves out a participant the record names,
//     or another set than a STAGING record's;
//   - the first DECIDE with a valid outcome decides, except a presumed ABORT
//     of a STAGING record, a DECIDE with no record that does not create
//     one, and a COMMIT whose yes and read-only voters leave out a
//     participant the record names (rule 1); a COMMIT's record names its yes
//     voters only, an ABORT's adds its set;
//   - FINISH commits a STAGING record it names implicitly, finishes decided
//     ones and, with its cut, forgets the oldest finished records whose
//     finish time is before the cut.
//
// Events for a tx whose first event needs a record the visible log never
// created are left out when the node has a snapshot (their record was
// compacted into it), as compacted.
type logModel struct {
	txs       map[string]*logTx
	fifo      []finishedRec
	skip      map[string]bool
	snapshot  uint64
	compacted int
}

func logDecisions(events []history.LogEvent, snapshot uint64) (txs map[string]*logTx, compacted int) {
	m := &logModel{txs: map[string]*logTx{}, skip: map[string]bool{}, snapshot: snapshot}
	for _, e := range events {
		m.apply(e)
	}
	return m.txs, m.compacted
}

func (m *logModel) apply(e history.LogEvent) {
	if e.Kind == history.LogForget {
		m.forget(e)
		return
	}
	if m.skip[e.TxID] {
		return
	}
	t := m.txs[e.TxID]
	if t == nil && !creates(e) && m.snapshot > 0 {
		m.skip[e.TxID] = true
		m.compacted++
		return
	}
	if t == nil {
		t = &logTx{}
		m.txs[e.TxID] = t
	}
	switch e.Kind {
	case history.LogBegin:
		if t.rec == nil {
			t.create(e.Index, &logRec{state: logActive})
		}
	case history.LogEnlist:
		t.enlist(e)
	case history.LogStage:
		t.stage(e)
	case history.LogDecide:
		t.decide(e)
	case history.LogImplicitCommit:
		if t.rec != nil && t.rec.state == logStaging {
			t.rec.state = history.OutcomeCommit
			t.first(history.OutcomeCommit, e.Index, t.rec.parts)
		}
	case history.LogFinish:
		if t.rec != nil && !t.rec.finished && t.rec.decided() {
			t.rec.finished = true
			m.fifo = append(m.fifo, finishedRec{id: e.TxID, at: e.At, rec: t.rec})
		}
	}
}

// creates reports whether e can create a record that does not exist.
func creates(e history.LogEvent) bool {
	return e.Kind == history.LogBegin || e.Kind == history.LogStage || (e.Kind == history.LogDecide && e.Create)
}

func (m *logModel) forget(e history.LogEvent) {
	for len(m.fifo) > 0 && m.fifo[0].at < e.ForgetBefore {
		f := m.fifo[0]
		m.fifo = m.fifo[1:]
		if t := m.txs[f.id]; t != nil && t.rec == f.rec {
			t.rec, t.forgotten = nil, e.Index
		}
	}
}

// create installs a new record; one created after the last was forgotten
// is noted in again.
func (t *logTx) create(index uint64, rec *logRec) {
	t.rec = rec
	if t.forgotten > 0 {
		t.again = append(t.again, index)
	}
}

func (t *logTx) enlist(e history.LogEvent) {
	if t.rec == nil || t.rec.state != logActive || len(e.Participants) == 0 {
		return
	}
	t.rec.parts = sortedUnion(t.rec.parts, e.Participants)
}

func (t *logTx) stage(e history.LogEvent) {
	rec := t.rec
	if rec == nil {
		rec = &logRec{state: logActive}
	}
	parts := sortedUnion(e.Participants, nil)
	if rec.decided() || rec.state == logStaging || len(parts) == 0 || !coversAll(parts, rec.parts) {
		return // already decided, a retried or refused STAGE, or rule 1
	}
	rec.state, rec.parts = logStaging, parts
	if t.rec == nil {
		t.create(e.Index, rec)
	}
}

func (t *logTx) decide(e history.LogEvent) {
	rec := t.rec
	switch {
	case e.Outcome == "" || (rec == nil && !e.Create):
		return // invalid outcome, or no record: the FSM refuses it
	case rec == nil:
		rec = &logRec{state: logActive}
	}
	switch {
	case rec.decided():
		if e.Outcome != rec.state {
			t.later = append(t.later, e.Index)
		}
		return
	case rec.state == logStaging && e.Presumed && e.Outcome == history.OutcomeAbort:
		return // refused for STAGING
	case e.Outcome == history.OutcomeCommit && !coversAll(sortedUnion(e.Participants, e.ReadOnly), rec.parts):
		return // rule 1: a participant the record names did not vote
	}
	if e.Outcome == history.OutcomeCommit {
		rec.parts = sortedUnion(e.Participants, nil)
	} else {
		rec.parts = sortedUnion(rec.parts, e.Participants)
	}
	rec.state = e.Outcome
	if t.rec == nil {
		t.create(e.Index, rec)
	}
	t.first(e.Outcome, e.Index, rec.parts)
}

// first records the tx's first decision.
func (t *logTx) first(outcome string, index uint64, parts []string) {
	if t.outcome != "" {
		return
	}
	t.outcome, t.index = outcome, index
	if outcome == history.OutcomeCommit {
		t.named = slices.Clone(parts)
	}
}

// sortedUnion is the sorted, deduplicated union of a and b without empty
// IDs.
func sortedUnion(a, b []string) []string {
	var out []string
	for _, id := range slices.Concat(a, b) {
		if id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// coversAll reports whether every ID of want is in have.
func coversAll(have, want []string) bool {
	for _, id := range want {
		if !slices.Contains(have, id) {
			return false
		}
	}
	return true
}
