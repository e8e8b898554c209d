package client

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
)

// TracingDialOption returns a dial option that traces the client's calls
// with OpenTelemetry and propagates the caller's trace context to the
// coordinators. It uses the global tracer provider and propagator
// (otel.SetTracerProvider, otel.SetTextMapPropagator); without them it is a
// cheap no-op. Append it to Config.DialOptions, which replace the defaults,
// so keep the credentials:
//
//	cfg.DialOptions = append(client.TLSDialOptions(src), client.TracingDialOption())
func TracingDialOption() grpc.DialOption {
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler())
}
