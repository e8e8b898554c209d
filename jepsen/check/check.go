package check

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// Checker names, as they appear in Result.Name and in reports.
const (
	NameAtomicity    = "atomicity"
	NameDurability   = "durability"
	NameUniqueness   = "uniqueness"
	NameConservation = "conservation"
	NameExactlyOnce  = "exactly-once"
	NameLiveness     = "liveness"
	NameFinalTx      = "final-tx"
	NameLinearizable = "linearizable"
	// NameVotesBeforeCommit and NameExpectedAnswers are the race
	// workload's: VotesBeforeCommit runs on every run, ExpectedAnswers on
	// runs whose ops carry Op.Expect.
	NameVotesBeforeCommit = "votes-before-commit"
	NameExpectedAnswers   = "expected-answers"
)

// maxEvidence bounds Result.Evidence; further anomalies are only counted.
const maxEvidence = 20

// Result is one checker's verdict on one run.
type Result struct {
	Name    string `json:"name"`
	Pass    bool   `json:"pass"`
	Checked int    `json:"checked"` // how many items were examined
	// Anomalies counts every anomaly found, including those beyond the
	// evidence lines kept; 0 when Pass.
	Anomalies int      `json:"anomalies"`
	Evidence  []string `json:"evidence"` // at most ~20 concrete lines
	// Measure is a checker's measured quantity, if it has one
	// (availability: the longest interval without a commit under a fault).
	Measure time.Duration `json:"measure,omitempty"`
}

// All runs every checker that applies to the run, in a fixed order:
// atomicity, durability, uniqueness, votes-before-commit, conservation
// (bank ops only), exactly-once (transfers only), liveness, final-tx,
// linearizable (commit, abort, status and resolve ops only),
// expected-answers (ops with Op.Expect only), events (the events
// workload only).
func All(run *history.Run) []Result {
	results := []Result{Atomicity(run), Durability(run), Uniqueness(run), VotesBeforeCommit(run)}
	if hasKind(run, history.KindRead, history.KindTransfer) {
		results = append(results, Conservation(run))
	}
	if hasKind(run, history.KindTransfer) {
		results = append(results, ExactlyOnce(run))
	}
	results = append(results, Liveness(run), FinalTx(run))
	if hasKind(run, history.KindCommit, history.KindAbort, history.KindStatus, history.KindResolve, history.KindResolveMember) {
		res, _ := Linearizable(run)
		results = append(results, res)
	}
	if slices.ContainsFunc(run.Ops, func(op history.Op) bool { return op.Expect != "" }) {
		results = append(results, ExpectedAnswers(run))
	}
	if run.Final.Events != nil {
		results = append(results, Events(run))
	}
	return results
}

// evidence collects the lines of one Result. Anomalies fail the check;
// notes only inform.
type evidence struct {
	lines     []string
	anomalies int
}

func (e *evidence) addf(format string, args ...any) {
	e.anomalies++
	if e.anomalies <= maxEvidence {
		e.lines = append(e.lines, fmt.Sprintf(format, args...))
	}
}

func (e *evidence) notef(format string, args ...any) {
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
}

func (e *evidence) result(name string, checked int) Result {
	lines := e.lines
	if e.anomalies > maxEvidence {
		lines = append(lines, fmt.Sprintf("... and %d more anomalies", e.anomalies-maxEvidence))
	}
	return Result{Name: name, Pass: e.anomalies == 0, Checked: checked, Anomalies: e.anomalies, Evidence: lines}
}

// verdict is what the coordinators decided for one tx: the nodes that
// decided commit and the nodes that decided abort.
type verdict struct {
	commit, abort []string
}

func (v *verdict) committed() bool { return v != nil && len(v.commit) > 0 }
func (v *verdict) aborted() bool   { return v != nil && len(v.abort) > 0 }

func (v *verdict) String() string {
	if v == nil {
		return "no coordinator decision"
	}
	var parts []string
	if len(v.commit) > 0 {
		parts = append(parts, "commit on "+strings.Join(v.commit, ","))
	}
	if len(v.abort) > 0 {
		parts = append(parts, "abort on "+strings.Join(v.abort, ","))
	}
	return strings.Join(parts, "; ")
}

// verdicts groups every coordinator's decisions by tx ID.
func verdicts(f history.Final) map[string]*verdict {
	out := map[string]*verdict{}
	for _, node := range sortedKeys(f.Decisions) {
		for id, outcome := range f.Decisions[node] {
			v := out[id]
			if v == nil {
				v = &verdict{}
				out[id] = v
			}
			if outcome == history.OutcomeCommit {
				v.commit = append(v.commit, node)
			} else {
				v.abort = append(v.abort, node)
			}
		}
	}
	return out
}

// applied regroups the participants' outcomes by tx ID:
// tx ID -> participant -> outcome.
func applied(f history.Final) map[string]map[string]string {
	out := map[string]map[string]string{}
	for p, txs := range f.ParticipantOutcomes {
		for id, outcome := range txs {
			if out[id] == nil {
				out[id] = map[string]string{}
			}
			out[id][p] = outcome
		}
	}
	return out
}

// members is the union of Op.Participants over every op of each tx.
func members(ops []history.Op) map[string][]string {
	out := map[string][]string{}
	for _, op := range ops {
		for _, p := range op.Participants {
			if op.TxID != "" && !slices.Contains(out[op.TxID], p) {
				out[op.TxID] = append(out[op.TxID], p)
			}
		}
	}
	return out
}

// isPrepared reports whether participant p still held tx id prepared.
func isPrepared(f history.Final, p, id string) bool {
	return slices.Contains(f.Prepared[p], id)
}

// describeApplied says what participant p holds for tx id.
func describeApplied(f history.Final, p, id string) string {
	if outcome, ok := f.ParticipantOutcomes[p][id]; ok {
		return outcome
	}
	if isPrepared(f, p, id) {
		return "still prepared"
	}
	return "nothing"
}

func hasKind(run *history.Run, kinds ...string) bool {
	return slices.ContainsFunc(run.Ops, func(op history.Op) bool {
		return slices.Contains(kinds, op.Kind)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// unionKeys returns the sorted union of two maps' keys.
func unionKeys[A, B any](a map[string]A, b map[string]B) []string {
	keys := sortedKeys(a)
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
