package main

import (
	"context"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/cmd/internal/procutil"
	"github.com/arbiter-tx/arbiter/coordinator/webui"
)

// serveHTTP serves /metrics and the read-only status page on addr (off
// when addr is empty; loopback only when it names no host) until ctx ends.
// Neither is authenticated: see coordinator/DESIGN.md.
func serveHTTP(ctx context.Context, addr string, reg *prometheus.Registry, src webui.Source, log *zap.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", webui.Handler(src, log))
	procutil.ServeHTTP(ctx, loopbackByDefault(addr), mux, log)
}

// loopbackByDefault binds an address without a host (":9090") to
// 127.0.0.1 rather than every interface: the plaintext, unauthenticated
// HTTP endpoints are exposed beyond this machine only when the operator
// names a host (0.0.0.0:9090, or an interface address).
func loopbackByDefault(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr // empty (off) or explicit; a malformed one fails at listen
	}
	return net.JoinHostPort("127.0.0.1", port)
}
