// Package badconn sends bad connections to a process's ports in tests:
// random bytes, silent connections, an endless header, garbage requests. A
// server must survive them and keep serving.
package badconn

import (
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Send sends each address 20 bad connections and returns those it holds
// open (the caller closes them).
func Send(t testing.TB, addrs ...string) []net.Conn {
	t.Helper()
	var held []net.Conn
	for _, addr := range addrs {
		for i := range 20 {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatalf("dial %s: %v", addr, err)
			}
			switch i % 4 {
			case 0: // random bytes
				b := make([]byte, 1+i*97)
				_, _ = rand.Read(b)
				_, _ = conn.Write(b)
				_ = conn.Close()
			case 1: // say nothing, stay connected
				held = append(held, conn)
			case 2: // a request line that never ends
				_, _ = conn.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: " + strings.Repeat("a", 4096)))
				held = append(held, conn)
			case 3: // a malformed request
				_, _ = conn.Write([]byte("\x00\x01BREW /coffee HTCPCP/9\r\n\r\n"))
				_ = conn.Close()
			}
		}
	}
	return held
}

// HTTPOK reports whether GET u answers 200 within 2 seconds.
func HTTPOK(u string) bool {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}
