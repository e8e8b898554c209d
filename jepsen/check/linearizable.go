package check

import (
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// linearizeTimeout bounds porcupine's search over the whole history.
const linearizeTimeout = 10 * time.Second

// pending is the Return time of an op whose outcome the client never
// learned: it may take effect at any point after its call.
const pending = math.MaxInt64

// Linearization is porcupine's verdict on a status-workload history, kept
// so that a report can render it.
type Linearization struct {
	Result porcupine.CheckResult
	model  porcupine.Model
	info   porcupine.LinearizationInfo
}

// WriteHTML writes porcupine's interactive visualization to path.
func (l *Linearization) WriteHTML(path string) error {
	return porcupine.VisualizePath(l.model, l.info, path)
}

// Linearizable checks the status workload: the commit, abort and status ops
// of each tx must be explainable by one write-once decision register (see
// decisionModel). Porcupine checks every tx as its own partition; when the
// history is illegal, each tx is checked alone to name the culprits.
func Linearizable(run *history.Run) (Result, *Linearization) {
	var ev evidence
	ops := linOperations(run.Ops)
	model := decisionModel()
	res, info := porcupine.CheckOperationsVerbose(model, ops, linearizeTimeout)
	parts := partitionByTx(ops)
	switch res {
	case porcupine.Unknown:
		ev.addf("porcupine timed out after %s: inconclusive", linearizeTimeout)
	case porcupine.Illegal:
		illegalTxs(&ev, model, parts)
	}
	return ev.result(NameLinearizable, len(parts)), &Linearization{Result: res, model: model, info: info}
}

// LinearizabilityHTML checks the run and writes porcupine's visualization
// of it to path.
func LinearizabilityHTML(run *history.Run, path string) error {
	_, lin := Linearizable(run)
	return lin.WriteHTML(path)
}

func illegalTxs(ev *evidence, model porcupine.Model, parts [][]porcupine.Operation) {
	for _, part := range parts {
		if porcupine.CheckOperations(model, part) {
			continue
		}
		in := part[0].Input.(linInput)
		ev.addf("tx %s: not linearizable: %s", in.TxID, describeOps(part))
	}
}

func describeOps(part []porcupine.Operation) string {
	s := ""
	for i, op := range part {
		if i > 0 {
			s += "; "
		}
		s += fmt.Sprintf("%v %s->%s [%s, %s]", op.Metadata, op.Input.(linInput).Kind,
			op.Output, time.Duration(op.Call), describeReturn(op.Return))
	}
	return s
}

func describeReturn(ret int64) string {
	if ret == pending {
		return "never"
	}
	return time.Duration(ret).String()
}

// linOperations turns the commit, abort, status and resolve (and
// resolve-member) ops into
// porcupine operations. A commit, abort or resolve whose outcome is unknown
// stays pending forever with output "unknown". So does one that failed: "fail" should
// mean no effect, but a pending op is the conservative reading, and it
// costs no precision a status op would otherwise give. A status op without
// an answer tells nothing and is dropped.
func linOperations(ops []history.Op) []porcupine.Operation {
	var out []porcupine.Operation
	for _, op := range ops {
		if op.TxID == "" {
			continue
		}
		o := porcupine.Operation{
			ClientId: op.Worker,
			Input:    linInput{Kind: op.Kind, TxID: op.TxID},
			Call:     int64(op.Start),
			Return:   int64(op.End),
			Metadata: fmt.Sprintf("op %d", op.Index),
		}
		switch {
		case history.Asks(op.Kind) && answered(op.Outcome) && op.Status != "":
			o.Output = op.Status
		case op.Kind != history.KindCommit && op.Kind != history.KindAbort && op.Kind != history.KindResolve &&
			op.Kind != history.KindResolveMember:
			continue
		case answered(op.Outcome):
			o.Output = op.Outcome
		default:
			o.Output, o.Return = history.OutcomeUnknown, pending
		}
		out = append(out, o)
	}
	return out
}

func answered(outcome string) bool {
	return outcome != history.OutcomeUnknown && outcome != history.OutcomeFail
}

func partitionByTx(ops []porcupine.Operation) [][]porcupine.Operation {
	index := map[string]int{}
	var parts [][]porcupine.Operation
	for _, op := range ops {
		id := op.Input.(linInput).TxID
		i, ok := index[id]
		if !ok {
			i = len(parts)
			index[id] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], op)
	}
	return parts
}
