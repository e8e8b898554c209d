package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

var txNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// sampleTxs is one transaction per category, oldest deadline first.
func sampleTxs() []*arbiterpb.TxInfo {
	at := func(d time.Duration) int64 { return txNow.Add(d).UnixNano() }
	return []*arbiterpb.TxInfo{
		{TxId: "tx-stuck", State: arbiterpb.TxState_TX_STATE_COMMITTED, DeadlineUnixNanos: at(-5 * time.Minute), Participants: []string{"bank1", "bank2"}, DecidedIndex: 17},
		{TxId: "tx-late", State: arbiterpb.TxState_TX_STATE_ACTIVE, DeadlineUnixNanos: at(-10 * time.Second), Participants: []string{"bank3"}},
		{TxId: "tx-p2", State: arbiterpb.TxState_TX_STATE_ABORTED, DeadlineUnixNanos: at(2 * time.Second), Participants: []string{"bank2"}, DecidedIndex: 30},
		{TxId: "tx-new", State: arbiterpb.TxState_TX_STATE_ACTIVE, DeadlineUnixNanos: at(4 * time.Second), Participants: []string{"bank1"}, ClientId: "demo"},
	}
}

func ids(txs []*arbiterpb.TxInfo) string {
	var out []string
	for _, tx := range txs {
		out = append(out, tx.GetTxId())
	}
	return strings.Join(out, ",")
}

func TestTxFilter(t *testing.T) {
	for _, c := range []struct {
		name string
		f    txFilter
		want string
	}{
		{"none", txFilter{}, "tx-stuck,tx-late,tx-p2,tx-new"},
		{"active", txFilter{state: "active"}, "tx-new"},
		{"committing", txFilter{state: "committing"}, "tx-p2"},
		{"in-doubt", txFilter{state: "in-doubt"}, "tx-stuck,tx-late"},
		{"min-age", txFilter{minAge: time.Minute}, "tx-stuck"},
		{"participant", txFilter{participant: "bank2"}, "tx-stuck,tx-p2"},
		{"all three", txFilter{state: "in-doubt", minAge: time.Second, participant: "bank3"}, "tx-late"},
		{"nothing", txFilter{participant: "bank9"}, ""},
	} {
		if got := ids(c.f.apply(sampleTxs(), txNow)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTxFilterValidate(t *testing.T) {
	for _, f := range []txFilter{{state: "bogus"}, {minAge: -time.Second}} {
		if f.validate() == nil {
			t.Errorf("%+v: want an error", f)
		}
	}
	if err := (txFilter{state: "in-doubt", minAge: time.Second}).validate(); err != nil {
		t.Error(err)
	}
	if checkOutput("yaml") == nil || checkOutput("json") != nil || checkOutput("table") != nil {
		t.Error("checkOutput accepts exactly table and json")
	}
}

func TestWriteTxsTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTxs(&b, "table", sampleTxs()[:2], txNow); err != nil {
		t.Fatal(err)
	}
	want := `TX        STATE      CATEGORY  OVERDUE  DECIDED-AT  PARTICIPANTS
tx-stuck  committed  in-doubt  5m0s     17          bank1,bank2
tx-late   active     in-doubt  10s      0           bank3
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteTxsJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeTxs(&b, "json", sampleTxs()[3:], txNow); err != nil {
		t.Fatal(err)
	}
	want := `[{"tx_id":"tx-new","state":"active","category":"active","deadline":"2026-01-02T03:04:09Z",` +
		`"overdue":"-4s","participants":["bank1"],"finished":false,"decided_index":0,"client_id":"demo"}]` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
	b.Reset()
	if err := writeTxs(&b, "json", nil, txNow); err != nil || b.String() != "[]\n" {
		t.Errorf("empty listing: %q %v", b.String(), err)
	}
}

func TestWriteTx(t *testing.T) {
	var b bytes.Buffer
	if err := writeTx(&b, "table", sampleTxs()[0], txNow); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tx:            tx-stuck\n", "state:         committed\n", "category:      in-doubt\n",
		"deadline:      2026-01-02T02:59:05Z (overdue 5m0s)\n", "finished:      false\n",
		"decided-index: 17\n", "participants:  bank1, bank2\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := writeTx(&b, "json", sampleTxs()[0], txNow); err != nil {
		t.Fatal(err)
	}
	var r txRow
	if err := json.Unmarshal(b.Bytes(), &r); err != nil || r.TxID != "tx-stuck" || r.DecidedIndex != 17 || r.Category != "in-doubt" {
		t.Errorf("json: %+v %v", r, err)
	}
}

// sampleTrace is tx-stuck as its leader traced it: b was down in phase 2.
func sampleTrace() *arbiterpb.TraceTxResponse {
	at := func(d time.Duration) int64 { return txNow.Add(-6*time.Minute + d).UnixNano() }
	ev := func(d time.Duration, text string) *arbiterpb.TraceEvent {
		return &arbiterpb.TraceEvent{UnixNanos: at(d), Text: text}
	}
	return &arbiterpb.TraceTxResponse{
		Tx: sampleTxs()[0], ServedBy: "n1",
		Trace: &arbiterpb.TxTrace{
			Participants: []*arbiterpb.ParticipantTrace{
				{ParticipantId: "bank1", Vote: arbiterpb.Vote_VOTE_YES, PrepareAttempts: 1,
					AckedOutcome: arbiterpb.Outcome_OUTCOME_COMMIT, AckedUnixNanos: at(30 * time.Millisecond)},
				{ParticipantId: "bank2", Vote: arbiterpb.Vote_VOTE_YES, PrepareAttempts: 2, Phase2Retries: 7, LastError: "connection refused"},
			},
			Events: []*arbiterpb.TraceEvent{
				ev(0, "prepare sent to bank1"), ev(1500*time.Microsecond, "vote yes from bank1"),
				ev(20*time.Millisecond, "decided COMMIT at index 17"), ev(2*time.Second, "phase-2 retries 1-7 to bank2: connection refused"),
			},
			EventsOmitted: 3,
		},
	}
}

func TestWriteTraceTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTrace(&b, "table", "tx-stuck", sampleTrace(), txNow); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tx:            tx-stuck\n", "state:         committed\n", "served-by:     n1\n",
		"PARTICIPANT  VOTE  PREPARES  ACK     ACKED-AT         RETRIES  DETAIL\n",
		"bank1        yes   1         COMMIT  02:58:05.030000  0        -\n",
		"bank2        yes   2         -       -                7        last error: connection refused\n",
		"TIMELINE (UTC, 2026-01-02; 3 events after the first ones omitted to bound memory)\n",
		"02:58:05.000000  +0s     prepare sent to bank1\n",
		"02:58:05.001500  +1.5ms  vote yes from bank1\n",
		"02:58:07.000000  +2s     phase-2 retries 1-7 to bank2: connection refused\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

// A record forgotten but traced, and a record without a trace.
func TestWriteTracePartial(t *testing.T) {
	r := sampleTrace()
	r.Tx, r.Note = nil, "no record: the transaction finished and was forgotten; the trace remains"
	var b bytes.Buffer
	if err := writeTrace(&b, "table", "tx-gone", r, txNow); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "tx:            tx-gone (no record)\nserved-by:     n1\nnote:          no record:") {
		t.Errorf("got\n%s", b.String())
	}
	r = &arbiterpb.TraceTxResponse{Tx: sampleTxs()[1], Trace: &arbiterpb.TxTrace{}, ServedBy: "n2", Note: "no trace on node n2"}
	b.Reset()
	if err := writeTrace(&b, "table", "tx-late", r, txNow); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "served-by:     n2\nnote:          no trace on node n2\n") {
		t.Errorf("got\n%s", b.String())
	}
}

func TestWriteTraceJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeTrace(&b, "json", "tx-stuck", sampleTrace(), txNow); err != nil {
		t.Fatal(err)
	}
	var v traceView
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Tx == nil || v.Tx.TxID != "tx-stuck" || v.ServedBy != "n1" || v.EventsOmitted != 3 || len(v.Timeline) != 4 ||
		v.Timeline[1] != (eventRow{At: "2026-01-02T02:58:05.0015Z", Text: "vote yes from bank1"}) {
		t.Errorf("json: %+v", v)
	}
	want := []partRow{
		{ID: "bank1", Vote: "yes", Prepares: 1, Ack: "COMMIT", AckedAt: "2026-01-02T02:58:05.03Z"},
		{ID: "bank2", Vote: "yes", Prepares: 2, Ack: "none", Retries: 7, LastError: "connection refused"},
	}
	if len(v.Participants) != 2 || v.Participants[0] != want[0] || v.Participants[1] != want[1] {
		t.Errorf("participants %+v, want %+v", v.Participants, want)
	}
	b.Reset()
	if err := writeTrace(&b, "json", "x", &arbiterpb.TraceTxResponse{ServedBy: "n1"}, txNow); err != nil ||
		b.String() != `{"tx":null,"served_by":"n1","participants":[],"timeline":[]}`+"\n" {
		t.Errorf("empty: %q %v", b.String(), err)
	}
}
