package webui

import (
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Category is how an operator should read an open transaction. It is
// derived from the table entry and the wall clock, so followers and the
// leader agree up to clock skew.
type Category string

// The categories of an open transaction (one in the live table, that is not
// finished). The CLI's `arbiter tx list --state` uses the same names.
const (
	// Active: undecided, deadline not yet passed. Normal.
	Active Category = "active"
	// Committing: decided (commit or abort) before its deadline, phase 2
	// not yet acknowledged by every participant. Normal while it is brief.
	Committing Category = "committing"
	// InDoubt: still open after its deadline. Undecided past the deadline
	// means no leader has aborted it yet; decided past it means phase 2 is
	// stuck (a participant down or unreachable). An operator should look.
	InDoubt Category = "in-doubt"
	// Finished: every participant acknowledged phase 2 (the table forgets
	// these, so a listing rarely shows one).
	Finished Category = "finished"
)

// Categories lists the categories a filter may name.
var Categories = []Category{Active, Committing, InDoubt, Finished}

// Classify returns tx's category at now.
func Classify(tx *arbiterpb.TxInfo, now time.Time) Category {
	switch {
	case tx.GetFinished():
		return Finished
	case Overdue(tx, now) > 0:
		return InDoubt
	case tx.GetState() == arbiterpb.TxState_TX_STATE_ACTIVE, tx.GetState() == arbiterpb.TxState_TX_STATE_STAGING:
		return Active
	default:
		return Committing
	}
}

// Overdue is how long ago tx's deadline passed (negative: time left). The
// table records no begin time, so this is the only age the coordinator can
// report; with the default 5 s lifetime, a transaction began about
// 5 s + Overdue ago.
func Overdue(tx *arbiterpb.TxInfo, now time.Time) time.Duration {
	return now.Sub(time.Unix(0, tx.GetDeadlineUnixNanos()))
}

// StateName is tx's table state without the enum prefix: "active",
// "staging", "committed", "aborted" or "unknown".
func StateName(tx *arbiterpb.TxInfo) string {
	switch tx.GetState() {
	case arbiterpb.TxState_TX_STATE_ACTIVE:
		return "active"
	case arbiterpb.TxState_TX_STATE_COMMITTED:
		return "committed"
	case arbiterpb.TxState_TX_STATE_ABORTED:
		return "aborted"
	case arbiterpb.TxState_TX_STATE_STAGING:
		return "staging"
	default:
		return "unknown"
	}
}
