// Package procutil holds the process wiring the binaries in cmd/ share:
// the zap logger from --log-level, the metrics registry and a small HTTP
// server for /metrics.
package procutil
