package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

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
