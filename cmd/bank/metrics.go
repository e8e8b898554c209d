package main

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/cmd/internal/procutil"
)

// metricsSource is what the bank exposes at /metrics: the participant
// agent's own metrics.
type metricsSource interface {
	RegisterMetrics(prometheus.Registerer) error
}

// serveMetrics serves Prometheus /metrics on addr (off when empty) until
// ctx ends.
func serveMetrics(ctx context.Context, addr string, agent metricsSource, log *zap.Logger) error {
	if addr == "" {
		return nil
	}
	reg := procutil.NewRegistry()
	if err := agent.RegisterMetrics(reg); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	procutil.ServeHTTP(ctx, addr, mux, log)
	return nil
}
