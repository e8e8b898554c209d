package webui

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// listLimit is how many transactions the page asks the table for.
const listLimit = 500

// txsView is the JSON body of /api/transactions: in-doubt transactions
// first (most overdue first), then the rest by deadline.
type txsView struct {
	NowUnixMs    int64    `json:"now_unix_ms"`
	InDoubt      []txView `json:"in_doubt"`
	Transactions []txView `json:"transactions"`
}

// txView is one transaction as the page shows it.
type txView struct {
	TxID           string   `json:"tx_id"`
	State          string   `json:"state"`
	Category       Category `json:"category"`
	DeadlineUnixMs int64    `json:"deadline_unix_ms"`
	OverdueMs      int64    `json:"overdue_ms"`
	Participants   []string `json:"participants"`
	Finished       bool     `json:"finished"`
	DecidedIndex   uint64   `json:"decided_index"`
	ClientID       string   `json:"client_id"`
}

func (s *server) transactions(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), RequestTimeout)
	defer cancel()
	resp, err := s.src.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{Limit: listLimit})
	if err != nil {
		s.writeJSON(w, "transactions", nil, err)
		return
	}
	s.writeJSON(w, "transactions", newTxsView(resp.GetTxs(), s.now()), nil)
}

func newTxsView(txs []*arbiterpb.TxInfo, now time.Time) txsView {
	v := txsView{NowUnixMs: now.UnixMilli(), InDoubt: []txView{}, Transactions: []txView{}}
	for _, tx := range txs {
		tv := newTxView(tx, now)
		if tv.Category == InDoubt {
			v.InDoubt = append(v.InDoubt, tv)
		} else {
			v.Transactions = append(v.Transactions, tv)
		}
	}
	byOverdue := func(l []txView) func(i, j int) bool {
		return func(i, j int) bool { return l[i].OverdueMs > l[j].OverdueMs }
	}
	sort.SliceStable(v.InDoubt, byOverdue(v.InDoubt))
	sort.SliceStable(v.Transactions, byOverdue(v.Transactions))
	return v
}

func newTxView(tx *arbiterpb.TxInfo, now time.Time) txView {
	parts := append([]string{}, tx.GetParticipants()...)
	return txView{
		TxID: tx.GetTxId(), State: StateName(tx), Category: Classify(tx, now),
		DeadlineUnixMs: time.Unix(0, tx.GetDeadlineUnixNanos()).UnixMilli(),
		OverdueMs:      Overdue(tx, now).Milliseconds(),
		Participants:   parts, Finished: tx.GetFinished(),
		DecidedIndex: tx.GetDecidedIndex(), ClientID: tx.GetClientId(),
	}
}
