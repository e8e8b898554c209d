package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/cmd/internal/badconn"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A bank started with --insecure says so in its log, and bad connections
// on its --http-addr (metrics) and --pprof-addr ports leave it serving them
// and its Participant API.
func TestBankWarnsInsecureAndSurvivesBadConnsOnHTTPPorts(t *testing.T) {
	dir := t.TempDir()
	listen, metrics, pprof := freeAddr(t), freeAddr(t), freeAddr(t)
	p := startBank(t, dir, nil, "--insecure", "--id", "b1", "--listen", listen, "--coordinators", freeAddr(t),
		"--data-dir", filepath.Join(dir, "data"), "--http-addr", metrics, "--pprof-addr", pprof)
	p.waitLog(t, "running WITHOUT TLS (--insecure)", 30*time.Second)
	urls := []string{"http://" + metrics + "/metrics", "http://" + pprof + "/debug/pprof/"}
	for _, u := range urls {
		eventually(t, 10*time.Second, u, func() bool { return badconn.HTTPOK(u) })
	}
	held := badconn.Send(t, metrics, pprof)
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	for _, u := range urls {
		if !badconn.HTTPOK(u) {
			t.Errorf("%s no longer answers after bad connections", u)
		}
	}
	select {
	case <-p.done:
		t.Fatalf("the bank died:\n%s", p.log())
	default:
	}
	_, pc := bankClient(t, listen)
	if _, err := pc.Inspect(ctxFor(t, 5*time.Second), &arbiterpb.InspectRequest{}); err != nil {
		t.Fatalf("Participant API after bad connections: %v", err)
	}
}
