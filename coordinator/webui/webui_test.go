package webui

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

func TestStatusJSON(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := now
	src := &fakeSource{now: now}
	h := newServer(src, nil, func() time.Time { return clock }).routes()
	for i := 0; i < 3; i++ {
		w := get(t, h, http.MethodGet, "/api/status")
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("status: %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		clock = clock.Add(time.Second)
	}
	v := decode[statusView](t, get(t, h, http.MethodGet, "/api/status"))
	if v.NodeID != "n2" || v.LeaderID != "n1" || v.Term != 7 || v.AppliedIndex != 120 || v.CommitIndex != 122 {
		t.Errorf("cluster fields: %+v", v)
	}
	if len(v.Members) != 3 || v.Members[0].ID != "n1" || !v.Members[0].Leader || v.Members[2].GRPCAddress != "10.0.0.3:8000" {
		t.Errorf("members not sorted with the leader flagged: %+v", v.Members)
	}
	if len(v.Participants) != 2 || v.Participants[0].ID != "bank1" {
		t.Errorf("participants: %+v", v.Participants)
	}
	if len(v.Throughput) != 3 || v.Throughput[0].AppliedPerSec != 30 {
		t.Errorf("throughput: want three samples at 30/s, got %+v", v.Throughput)
	}
}

func TestTransactionsJSON(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := newServer(&fakeSource{now: now}, nil, func() time.Time { return now }).routes()
	v := decode[txsView](t, get(t, h, http.MethodGet, "/api/transactions"))
	if len(v.InDoubt) != 2 || v.InDoubt[0].TxID != nastyID || v.InDoubt[1].TxID != "tx-stuck-0003" {
		t.Fatalf("in doubt, most overdue first: %+v", v.InDoubt)
	}
	if v.InDoubt[1].OverdueMs != 60000 || v.InDoubt[1].State != "committed" || v.InDoubt[1].DecidedIndex != 12 {
		t.Errorf("stuck tx: %+v", v.InDoubt[1])
	}
	cats := map[string]Category{}
	for _, tx := range v.Transactions {
		cats[tx.TxID] = tx.Category
	}
	if cats["tx-active-0001"] != Active || cats["tx-commit-0002"] != Committing || len(cats) != 2 {
		t.Errorf("open transactions: %+v", v.Transactions)
	}
}

func TestJSONEscapesMarkup(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := newServer(&fakeSource{now: now}, nil, func() time.Time { return now }).routes()
	body := get(t, h, http.MethodGet, "/api/transactions").Body.String()
	if strings.ContainsAny(body, "<>") {
		t.Errorf("JSON carries raw markup characters: %s", body)
	}
}

func TestStaticFilesNeverUseInnerHTML(t *testing.T) {
	for _, name := range []string{"static/app.js", "static/index.html"} {
		b, err := static.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

func TestPageAndHeaders(t *testing.T) {
	h := Handler(&fakeSource{now: time.Now()}, nil)
	w := get(t, h, http.MethodGet, "/")
	body, _ := io.ReadAll(w.Body)
	if w.Code != http.StatusOK || !strings.Contains(string(body), `src="app.js"`) {
		t.Fatalf("index: %d %s", w.Code, body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP: %q", csp)
	}
	for _, p := range []string{"/app.js", "/style.css"} {
		if w := get(t, h, http.MethodGet, p); w.Code != http.StatusOK {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
}

func TestNonGETIs405(t *testing.T) {
	h := Handler(&fakeSource{now: time.Now()}, nil)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/", "/api/status", "/api/transactions"} {
			w := get(t, h, m, p)
			if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", m, p, w.Code, w.Header().Get("Allow"))
			}
		}
	}
}

func TestSourceErrorIs503(t *testing.T) {
	h := Handler(&fakeSource{fail: true}, nil)
	for _, p := range []string{"/api/status", "/api/transactions"} {
		w := get(t, h, http.MethodGet, p)
		if e := decode[map[string]string](t, w); w.Code != http.StatusServiceUnavailable || e["error"] == "" {
			t.Errorf("%s: %d %v", p, w.Code, e)
		}
	}
}

func TestRing(t *testing.T) {
	r := newRing(3)
	t0 := time.Unix(0, 0)
	r.add(t0, 10)
	r.add(t0.Add(100*time.Millisecond), 99) // too soon: ignored
	for i := 1; i <= 4; i++ {
		r.add(t0.Add(time.Duration(i)*time.Second), uint64(10+i*5))
	}
	got := r.rates()
	if len(got) != 2 || got[0].AppliedPerSec != 5 || got[1].UnixMs != 4000 {
		t.Errorf("rates: %+v", got)
	}
	r.add(t0.Add(5*time.Second), 1) // restarted node: history cleared
	if got := r.rates(); len(got) != 0 {
		t.Errorf("after restart: %+v", got)
	}
}

func TestClassify(t *testing.T) {
	now := time.Unix(100, 0)
	tx := func(st arbiterpb.TxState, dl time.Duration, fin bool) *arbiterpb.TxInfo {
		return &arbiterpb.TxInfo{State: st, DeadlineUnixNanos: now.Add(dl).UnixNano(), Finished: fin}
	}
	for _, c := range []struct {
		tx   *arbiterpb.TxInfo
		want Category
	}{
		{tx(arbiterpb.TxState_TX_STATE_ACTIVE, time.Second, false), Active},
		{tx(arbiterpb.TxState_TX_STATE_ACTIVE, -time.Second, false), InDoubt},
		{tx(arbiterpb.TxState_TX_STATE_ABORTED, time.Second, false), Committing},
		{tx(arbiterpb.TxState_TX_STATE_COMMITTED, -time.Second, false), InDoubt},
		{tx(arbiterpb.TxState_TX_STATE_COMMITTED, -time.Second, true), Finished},
	} {
		if got := Classify(c.tx, now); got != c.want {
			t.Errorf("Classify(%v): %s, want %s", c.tx, got, c.want)
		}
	}
}
