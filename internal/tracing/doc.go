// Package tracing sets up OpenTelemetry tracing for the Arbiter binaries.
// Tracing is off unless the standard OTEL_* environment variables ask for
// it (see Enabled); when off, nothing is exported and the gRPC stats
// handlers are cheap no-ops, so ServerOption and DialOption can always be
// installed.
package tracing
