package main

import (
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// A bank started with --insecure says so in its log, and junk on its
// --http-addr (metrics) and --pprof-addr ports leaves it serving them and
// its Participant API.
func TestBankWarnsInsecureAndSurvivesJunkOnHTTPPorts(t *testing.T) {
	dir := t.TempDir()
	listen, metrics, pprof := freeAddr(t), freeAddr(t), freeAddr(t)
	p := startBank(t, dir, nil, "--insecure", "--id", "b1", "--listen", listen, "--coordinators", freeAddr(t),
		"--data-dir", filepath.Join(dir, "data"), "--http-addr", metrics, "--pprof-addr", pprof)
	p.waitLog(t, "running WITHOUT TLS (--insecure)", 30*time.Second)
	urls := []string{"http://" + metrics + "/metrics", "http://" + pprof + "/debug/pprof/"}
	for _, u := range urls {
		eventually(t, 10*time.Second, u, func() bool { return httpOK(u) })
	}
	held := junk(t, metrics, pprof)
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	for _, u := range urls {
		if !httpOK(u) {
			t.Errorf("%s no longer answers after junk", u)
		}
	}
	select {
	case <-p.done:
		t.Fatalf("the bank died:\n%s", p.log())
	default:
	}
	_, pc := bankClient(t, listen)
	if _, err := pc.Inspect(ctxFor(t, 5*time.Second), &arbiterpb.InspectRequest{}); err != nil {
		t.Fatalf("Participant API after junk: %v", err)
	}
}

// junk sends each address 20 bad connections and returns those it holds
// open: random bytes, silent connections, an endless header, garbage.
func junk(t *testing.T, addrs ...string) []net.Conn {
	t.Helper()
	var held []net.Conn
	for _, addr := range addrs {
		for i := range 20 {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatalf("dial %s: %v", addr, err)
			}
			switch i % 4 {
			case 0:
				b := make([]byte, 1+i*97)
				_, _ = rand.Read(b)
				_, _ = conn.Write(b)
				_ = conn.Close()
			case 1:
				held = append(held, conn)
			case 2:
				_, _ = conn.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: " + strings.Repeat("a", 4096)))
				held = append(held, conn)
			case 3:
				_, _ = conn.Write([]byte("\x00\x01BREW /coffee HTCPCP/9\r\n\r\n"))
				_ = conn.Close()
			}
		}
	}
	return held
}

func httpOK(u string) bool {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}
