package debugserver

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on the default mux
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/cmd/internal/procutil"
)

// ServePprof exposes Go's profiler on addr (off when addr is empty;
// loopback only when it names no host), for profiling a running process:
// go tool pprof http://ADDR/debug/pprof/profile
func ServePprof(addr string, log *zap.Logger) {
	if addr == "" {
		return
	}
	addr = procutil.LoopbackByDefault(addr)
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		log.Info("pprof listening", zap.String("pprof-addr", addr))
		if err := srv.ListenAndServe(); err != nil {
			log.Warn("pprof server stopped", zap.Error(err))
		}
	}()
}
