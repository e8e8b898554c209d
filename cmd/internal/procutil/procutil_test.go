package procutil

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// /metrics served from the shared registry answers with Go runtime
// metrics, and the server stops when its context ends.
func TestServeHTTPServesMetricsUntilCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	reg := NewRegistry()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ctx, cancel := context.WithCancel(context.Background())
	ServeHTTP(ctx, addr, mux, zap.NewNop())
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		body = string(b)
		break
	}
	if !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics did not serve Go runtime metrics: %.200q", body)
	}
	cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := http.Get("http://" + addr + "/metrics"); err != nil {
			return // stopped
		}
		if time.Now().After(deadline) {
			t.Fatal("server still answering after its context ended")
		}
	}
}

func TestNewLoggerRejectsUnknownLevel(t *testing.T) {
	if _, err := NewLogger("loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("NewLogger(loud) = %v, want an error naming --log-level", err)
	}
}

// The unauthenticated HTTP endpoints bind loopback unless a host is named.
func TestHTTPAddrDefaultsToLoopback(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		":9090":        "127.0.0.1:9090",
		"0.0.0.0:9090": "0.0.0.0:9090",
		"[::]:9090":    "[::]:9090",
		"10.0.0.5:80":  "10.0.0.5:80",
	} {
		if got := LoopbackByDefault(in); got != want {
			t.Errorf("LoopbackByDefault(%q) = %q, want %q", in, got, want)
		}
	}
}
