package tracing

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Enabled reports whether the environment asks for tracing: it is on when
// OTEL_TRACES_EXPORTER is "otlp", or when it is unset and
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.
// OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED=true turn it off. Other
// exporter names are not supported (reported by Setup, tracing stays off).
func Enabled() (bool, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	switch exp := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
			os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, errors.New("OTEL_TRACES_EXPORTER=" + exp + " is not supported (use otlp or none)")
	}
}

// Setup installs a global tracer provider exporting over OTLP/gRPC (the
// exporter reads the standard OTEL_EXPORTER_OTLP_* variables: endpoint,
// headers, TLS, timeout, compression) with a batch span processor, a
// resource naming serviceName (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override), and the W3C tracecontext propagator.
// When tracing is off (see Enabled) it installs nothing and returns a no-op
// shutdown. Call shutdown before exiting to flush the spans.
func Setup(ctx context.Context, serviceName string, log *zap.Logger) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if log == nil {
		log = zap.NewNop()
	}
	on, err := Enabled()
	if err != nil {
		log.Warn("tracing off", zap.Error(err))
		return noop, nil
	}
	if !on {
		return noop, nil
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return noop, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		_ = exp.Shutdown(ctx)
		return noop, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", zap.Error(err))
	}))
	name := serviceName
	if v := os.Getenv("OTEL_SERVICE_NAME"); v != "" {
		name = v
	}
	log.Info("tracing on", zap.String("service", name))
	return tp.Shutdown, nil
}

// ServerOption traces every RPC the server handles, continuing the
// caller's trace when the request carries a traceparent header.
func ServerOption() grpc.ServerOption {
	return grpc.StatsHandler(otelgrpc.NewServerHandler())
}

// DialOption traces every RPC made on the connection and propagates the
// trace context to the server.
func DialOption() grpc.DialOption {
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler())
}

// ServerOptionIfOn is ServerOption when the environment turns tracing on
// (Enabled), and no option otherwise: the stats handler costs several
// percent of a coordinator's CPU even with no exporter behind it.
func ServerOptionIfOn() grpc.ServerOption {
	if on, _ := Enabled(); on {
		return ServerOption()
	}
	return grpc.EmptyServerOption{}
}

// DialOptionIfOn is DialOption when tracing is on, and no option otherwise.
func DialOptionIfOn() grpc.DialOption {
	if on, _ := Enabled(); on {
		return DialOption()
	}
	return grpc.EmptyDialOption{}
}

// Flush runs shutdown (from Setup) with a 5 s bound, exporting the spans
// still buffered, and logs a failure; with tracing off it does nothing. A
// process calls it once on its way out.
func Flush(shutdown func(context.Context) error, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		log.Warn("tracing shutdown", zap.Error(err))
	}
}
