package main

import (
	"context"
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
	procutil.ServeHTTP(ctx, addr, mux, log)
}
