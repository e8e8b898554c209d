package runner

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/jepsen/history"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// collect reads every stopped process's durable state: each participant's
// recorded outcomes (from its embedded store, or from PostgreSQL or
// MariaDB, still running), and each coordinator's Raft log replayed offline.
func (e *env) collect(ctx context.Context, f *history.Final) error {
	f.ParticipantOutcomes = map[string]map[string]string{}
	for _, b := range e.cluster.Banks {
		var outs map[string]string
		var err error
		if e.db != nil {
			outs, err = sqlOutcomes(ctx, e.db, b.Name)
		} else {
			outs, err = participantOutcomes(filepath.Join(b.DataDir, "bank.db"))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", b.Name, err)
		}
		f.ParticipantOutcomes[b.Name] = outs
	}
	if o := e.cluster.Outbox; o != nil { // the events workload's outbox: checked like a bank
		outs, err := participantOutcomes(filepath.Join(o.DataDir, "outbox.db"))
		if err != nil {
			return fmt.Errorf("%s: %w", o.Name, err)
		}
		f.ParticipantOutcomes[o.Name] = outs
	}
	return collectLogs(e.cluster.Coords, f)
}

// collectLogs replays each coordinator's Raft log (the FSM's view of its
// decisions, and the participants each COMMIT its table still holds names)
// and, separately, decodes its decision-bearing entries.
func collectLogs(coords []*localcluster.Proc, f *history.Final) error {
	f.Decisions = map[string]map[string]string{}
	f.Committed = map[string]map[string][]string{}
	f.LogEvents = map[string][]history.LogEvent{}
	f.SnapshotIndex = map[string]uint64{}
	logs := map[string][]raft.Log{}
	for _, c := range coords {
		r, err := raftlog.Replay(c.DataDir)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		if err := noteImplicitCommits(c.DataDir, r); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		f.Decisions[c.Name] = r.Decisions
		f.Committed[c.Name] = committedNamed(r.FSM)
		f.SnapshotIndex[c.Name] = r.SnapshotIndex
		logs[c.Name] = r.Entries
		if f.LogEvents[c.Name], err = logEvents(r.Entries); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	f.LogConflicts = logConflicts(logs)
	return nil
}

// committedNamed lists the participants every committed record of the
// table names.
func committedNamed(fsm *raftlog.FSM) map[string][]string {
	out := map[string][]string{}
	for id, outcome := range fsm.Decisions() {
		if rec, ok := fsm.Get(id); ok && outcome == history.OutcomeCommit {
			out[id] = rec.GetParticipants()
		}
	}
	return out
}

// logEvents decodes the entries that can create, change, decide, finish or
// forget a tx, with the codec only: no FSM code runs, so the checkers can
// re-derive the FSM's rules independently of it.
func logEvents(entries []raft.Log) ([]history.LogEvent, error) {
	var out []history.LogEvent
	for _, l := range entries {
		_, m, err := raftlog.Decode(l.Data)
		if err != nil {
			return nil, fmt.Errorf("log entry %d: %w", l.Index, err)
		}
		out = append(out, eventsOf(l.Index, m)...)
	}
	return out, nil
}

func eventsOf(index uint64, m proto.Message) []history.LogEvent {
	switch c := m.(type) {
	case *arbiterpb.BeginCommand:
		return []history.LogEvent{{Index: index, Kind: history.LogBegin, TxID: c.GetTxId()}}
	case *arbiterpb.EnlistCommand:
		return []history.LogEvent{{Index: index, Kind: history.LogEnlist, TxID: c.GetTxId(), Participants: []string{c.GetParticipantId()}}}
	case *arbiterpb.StageCommand:
		return []history.LogEvent{{Index: index, Kind: history.LogStage, TxID: c.GetTxId(), Participants: c.GetParticipants()}}
	case *arbiterpb.DecideCommand:
		return []history.LogEvent{{Index: index, Kind: history.LogDecide, TxID: c.GetTxId(),
			Outcome: outcomeName(c.GetOutcome()), Participants: c.GetParticipants(), ReadOnly: c.GetReadOnly(),
			Presumed: c.GetPresumed(), Create: c.GetCreateDeadlineUnixNanos() != 0}}
	case *arbiterpb.FinishCommand:
		return finishEvents(index, c)
	}
	return nil
}

// finishEvents is a FINISH in the order the FSM applies it: implicit
// commits, then every finished tx, then the window's cut.
func finishEvents(index uint64, c *arbiterpb.FinishCommand) []history.LogEvent {
	var out []history.LogEvent
	for _, id := range c.GetImplicitCommitTxIds() {
		out = append(out, history.LogEvent{Index: index, Kind: history.LogImplicitCommit, TxID: id})
	}
	for _, id := range slices.Concat(c.GetTxIds(), c.GetImplicitCommitTxIds()) {
		out = append(out, history.LogEvent{Index: index, Kind: history.LogFinish, TxID: id, At: c.GetNowUnixNanos()})
	}
	if c.GetForgetBeforeUnixNanos() != 0 {
		out = append(out, history.LogEvent{Index: index, Kind: history.LogForget, ForgetBefore: c.GetForgetBeforeUnixNanos()})
	}
	return out
}

func outcomeName(o arbiterpb.Outcome) string {
	switch o {
	case arbiterpb.Outcome_OUTCOME_COMMIT:
		return history.OutcomeCommit
	case arbiterpb.Outcome_OUTCOME_ABORT:
		return history.OutcomeAbort
	}
	return ""
}

func participantOutcomes(path string) (map[string]string, error) {
	st, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	outs, err := st.Outcomes()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(outs))
	for id, s := range outs {
		if strings.HasPrefix(id, "local-") {
			continue // a participant's own seeding, not a coordinated transaction
		}
		switch s {
		case participant.StateCommitted:
			m[id] = history.OutcomeCommit
		case participant.StateAborted:
			m[id] = history.OutcomeAbort
		}
	}
	return m, nil
}

// sqlOutcomes reads the PostgreSQL or MySQL adapter's arbiter_outcomes
// rows of bank.
func sqlOutcomes(ctx context.Context, db bankDatabases, bank string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	rows, err := db.Outcomes(ctx, bank)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(rows))
	for id, o := range rows {
		switch o {
		case "C":
			m[id] = history.OutcomeCommit
		case "A":
			m[id] = history.OutcomeAbort
		default:
			return nil, fmt.Errorf("arbiter_outcomes: tx %s has outcome %q", id, o)
		}
	}
	return m, nil
}

// logConflicts compares every pair of logs at the indexes both hold.
func logConflicts(logs map[string][]raft.Log) []string {
	byIndex := map[string]map[uint64]raft.Log{}
	for name, entries := range logs {
		byIndex[name] = map[uint64]raft.Log{}
		for _, l := range entries {
			byIndex[name][l.Index] = l
		}
	}
	var out []string
	names := []string{"n1", "n2", "n3"}
	for i, a := range names {
		for _, b := range names[i+1:] {
			for idx, la := range byIndex[a] {
				if lb, ok := byIndex[b][idx]; ok && (la.Term != lb.Term || !bytes.Equal(la.Data, lb.Data)) {
					out = append(out, fmt.Sprintf("index %d: %s has term %d, %s has term %d (different entries)", idx, a, la.Term, b, lb.Term))
				}
			}
		}
	}
	return out
}
