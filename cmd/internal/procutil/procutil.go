package procutil

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
)

// NewRegistry is a metrics registry with Go runtime and process metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewLogger builds a production (JSON) zap logger at level, unsampled.
func NewLogger(level string) (*zap.Logger, error) {
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = lvl
	cfg.Sampling = nil
	return cfg.Build()
}

// ServeHTTP serves h on addr (off when addr is empty; loopback only when
// it names no host, see LoopbackByDefault) until ctx ends.
func ServeHTTP(ctx context.Context, addr string, h http.Handler, log *zap.Logger) {
	if addr == "" {
		return
	}
	addr = LoopbackByDefault(addr)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		log.Info("http listening", zap.String("http-addr", addr))
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Error("http server stopped", zap.Error(err))
		}
	}()
}

// LoopbackByDefault binds an address without a host (":9090") to
// 127.0.0.1 rather than every interface: the plaintext, unauthenticated
// HTTP endpoints (metrics, status page, pprof) are exposed beyond this
// machine only when the operator names a host (0.0.0.0:9090, or an
// interface address).
func LoopbackByDefault(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr // empty (off) or explicit; a malformed one fails at listen
	}
	return net.JoinHostPort("127.0.0.1", port)
}
