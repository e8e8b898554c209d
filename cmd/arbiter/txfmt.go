package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/coordinator/webui"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// txFilter selects transactions from a listing, client-side. A zero field
// selects everything.
type txFilter struct {
	// state is a webui.Category name: active, committing or in-doubt.
	state string
	// minAge keeps transactions at least this far past their deadline (the
	// table records no begin time; see webui.Overdue).
	minAge time.Duration
	// participant keeps transactions that include this participant ID.
	participant string
}

// validate checks the flag values before any RPC.
func (f txFilter) validate() error {
	if f.state != "" && !slices.Contains(webui.Categories, webui.Category(f.state)) {
		return fmt.Errorf("--state %q: want one of %v", f.state, webui.Categories)
	}
	if f.minAge < 0 {
		return fmt.Errorf("--min-age %v: must not be negative", f.minAge)
	}
	return nil
}

// keep reports whether tx passes every filter at now.
func (f txFilter) keep(tx *arbiterpb.TxInfo, now time.Time) bool {
	return (f.state == "" || string(webui.Classify(tx, now)) == f.state) &&
		(f.minAge == 0 || webui.Overdue(tx, now) >= f.minAge) &&
		(f.participant == "" || slices.Contains(tx.GetParticipants(), f.participant))
}

// apply returns the transactions f keeps, in their original order.
func (f txFilter) apply(txs []*arbiterpb.TxInfo, now time.Time) []*arbiterpb.TxInfo {
	out := []*arbiterpb.TxInfo{}
	for _, tx := range txs {
		if f.keep(tx, now) {
			out = append(out, tx)
		}
	}
	return out
}

// txRow is one transaction as `--output json` prints it.
type txRow struct {
	TxID         string   `json:"tx_id"`
	State        string   `json:"state"`
	Category     string   `json:"category"`
	Deadline     string   `json:"deadline"`
	Overdue      string   `json:"overdue"`
	Participants []string `json:"participants"`
	Finished     bool     `json:"finished"`
	DecidedIndex uint64   `json:"decided_index"`
	ClientID     string   `json:"client_id,omitempty"`
}

func newTxRow(tx *arbiterpb.TxInfo, now time.Time) txRow {
	return txRow{
		TxID: tx.GetTxId(), State: webui.StateName(tx), Category: string(webui.Classify(tx, now)),
		Deadline:     time.Unix(0, tx.GetDeadlineUnixNanos()).UTC().Format(time.RFC3339Nano),
		Overdue:      webui.Overdue(tx, now).Round(time.Millisecond).String(),
		Participants: append([]string{}, tx.GetParticipants()...),
		Finished:     tx.GetFinished(), DecidedIndex: tx.GetDecidedIndex(), ClientID: tx.GetClientId(),
	}
}

// checkOutput validates --output.
func checkOutput(format string) error {
	if format != "table" && format != "json" {
		return fmt.Errorf("--output %q: want table or json", format)
	}
	return nil
}

// writeTxs prints a listing as a table or as a JSON array.
func writeTxs(w io.Writer, format string, txs []*arbiterpb.TxInfo, now time.Time) error {
	rows := make([]txRow, 0, len(txs))
	for _, tx := range txs {
		rows = append(rows, newTxRow(tx, now))
	}
	if format == "json" {
		return json.NewEncoder(w).Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TX\tSTATE\tCATEGORY\tOVERDUE\tDECIDED-AT\tPARTICIPANTS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.TxID, r.State, r.Category, r.Overdue,
			r.DecidedIndex, strings.Join(r.Participants, ","))
	}
	return tw.Flush()
}

// writeTx prints one transaction as key: value lines or a JSON object.
func writeTx(w io.Writer, format string, tx *arbiterpb.TxInfo, now time.Time) error {
	r := newTxRow(tx, now)
	if format == "json" {
		return json.NewEncoder(w).Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"tx", r.TxID}, {"state", r.State}, {"category", r.Category},
		{"deadline", r.Deadline + " (overdue " + r.Overdue + ")"},
		{"finished", fmt.Sprint(r.Finished)}, {"decided-index", fmt.Sprint(r.DecidedIndex)},
		{"participants", strings.Join(r.Participants, ", ")}, {"client", r.ClientID},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

// traceView is `tx show` as `--output json` prints it: the record (null
// when forgotten), then what the leader that ran it saw.
type traceView struct {
	Tx            *txRow     `json:"tx"`
	ServedBy      string     `json:"served_by"`
	Note          string     `json:"note,omitempty"`
	Participants  []partRow  `json:"participants"`
	Timeline      []eventRow `json:"timeline"`
	EventsOmitted uint32     `json:"events_omitted,omitempty"`
}

type partRow struct {
	ID        string `json:"participant_id"`
	Vote      string `json:"vote"`
	Reason    string `json:"reason,omitempty"`
	Prepares  uint32 `json:"prepare_attempts"`
	Ack       string `json:"ack"`
	AckedAt   string `json:"acked_at,omitempty"`
	Retries   uint32 `json:"phase2_retries"`
	LastError string `json:"last_error,omitempty"`
}

type eventRow struct {
	At   string `json:"at"`
	Text string `json:"text"`
}

func newTraceView(r *arbiterpb.TraceTxResponse, now time.Time) traceView {
	v := traceView{ServedBy: r.GetServedBy(), Note: r.GetNote(), Participants: []partRow{}, Timeline: []eventRow{},
		EventsOmitted: r.GetTrace().GetEventsOmitted()}
	if r.GetTx() != nil {
		row := newTxRow(r.GetTx(), now)
		v.Tx = &row
	}
	for _, p := range r.GetTrace().GetParticipants() {
		row := partRow{ID: p.GetParticipantId(), Vote: coordinator.VoteName(p.GetVote()), Reason: p.GetReason(),
			Prepares: p.GetPrepareAttempts(), Ack: coordinator.OutcomeName(p.GetAckedOutcome()),
			Retries: p.GetPhase2Retries(), LastError: p.GetLastError()}
		if p.GetAckedUnixNanos() != 0 {
			row.AckedAt = stamp(p.GetAckedUnixNanos())
		}
		v.Participants = append(v.Participants, row)
	}
	for _, e := range r.GetTrace().GetEvents() {
		v.Timeline = append(v.Timeline, eventRow{At: stamp(e.GetUnixNanos()), Text: e.GetText()})
	}
	return v
}

func stamp(unixNanos int64) string { return time.Unix(0, unixNanos).UTC().Format(time.RFC3339Nano) }

// writeTrace prints `tx show`: the record as writeTx does, the participants
// table and the timeline; or one JSON object.
func writeTrace(w io.Writer, format, txID string, r *arbiterpb.TraceTxResponse, now time.Time) error {
	v := newTraceView(r, now)
	if format == "json" {
		return json.NewEncoder(w).Encode(v)
	}
	if r.GetTx() != nil {
		if err := writeTx(w, format, r.GetTx(), now); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "tx:            %s (no record)\n", txID)
	}
	fmt.Fprintf(w, "served-by:     %s\n", v.ServedBy)
	if v.Note != "" {
		fmt.Fprintf(w, "note:          %s\n", v.Note)
	}
	if err := writeParticipants(w, v.Participants); err != nil {
		return err
	}
	return writeTimeline(w, r.GetTrace().GetEvents(), v.EventsOmitted)
}

func writeParticipants(w io.Writer, parts []partRow) error {
	if len(parts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTICIPANT\tVOTE\tPREPARES\tACK\tACKED-AT\tRETRIES\tDETAIL")
	for _, p := range parts {
		ack, at := p.Ack, "-"
		if p.AckedAt != "" {
			at = clock(p.AckedAt)
		}
		if ack == "none" {
			ack = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", p.ID, p.Vote, p.Prepares, ack, at, p.Retries, detail(p))
	}
	return tw.Flush()
}

// detail is a no vote's reason, else the last error, else "-".
func detail(p partRow) string {
	switch {
	case p.Reason != "":
		return p.Reason
	case p.LastError != "":
		return "last error: " + p.LastError
	}
	return "-"
}

// clock is the time of day of an RFC 3339 stamp, to the microsecond.
func clock(rfc string) string {
	t, err := time.Parse(time.RFC3339Nano, rfc)
	if err != nil {
		return rfc
	}
	return t.Format("15:04:05.000000")
}

// writeTimeline prints each event's UTC time and its offset from the first.
func writeTimeline(w io.Writer, events []*arbiterpb.TraceEvent, omitted uint32) error {
	if len(events) == 0 {
		return nil
	}
	first := time.Unix(0, events[0].GetUnixNanos()).UTC()
	fmt.Fprintf(w, "\nTIMELINE (UTC, %s", first.Format(time.DateOnly))
	if omitted > 0 {
		fmt.Fprintf(w, "; %d events after the first ones omitted to bound memory", omitted)
	}
	fmt.Fprintln(w, ")")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range events {
		at := time.Unix(0, e.GetUnixNanos()).UTC()
		fmt.Fprintf(tw, "%s\t+%v\t%s\n", at.Format("15:04:05.000000"), at.Sub(first), e.GetText())
	}
	return tw.Flush()
}
