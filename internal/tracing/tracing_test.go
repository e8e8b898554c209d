package tracing

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestClientAndServerSpansShareTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ServerOption())
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	cc, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()), DialOption())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	if _, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	// The server span ends after the response reached the client (grpc's
	// stats handler reports the RPC's end once the handler has returned and
	// the status is written), so wait for it, up to 5 s.
	var client, server *tracetest.SpanStub
	var spans tracetest.SpanStubs
	for end := time.Now().Add(5 * time.Second); (client == nil || server == nil) && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		spans = exp.GetSpans()
		for i := range spans {
			switch spans[i].SpanKind {
			case trace.SpanKindClient:
				client = &spans[i]
			case trace.SpanKindServer:
				server = &spans[i]
			}
		}
	}
	if client == nil || server == nil {
		t.Fatalf("want a client and a server span, got %d spans: %+v", len(spans), spans)
	}
	const method = "grpc.health.v1.Health/Check"
	if client.Name != method || server.Name != method {
		t.Errorf("span names %q, %q; want %q", client.Name, server.Name, method)
	}
	if !client.SpanContext.TraceID().IsValid() || client.SpanContext.TraceID() != server.SpanContext.TraceID() {
		t.Errorf("trace IDs differ: client %s, server %s", client.SpanContext.TraceID(), server.SpanContext.TraceID())
	}
	if server.Parent.SpanID() != client.SpanContext.SpanID() || !server.Parent.IsRemote() {
		t.Errorf("server span's parent %s (remote %v), want the client span %s",
			server.Parent.SpanID(), server.Parent.IsRemote(), client.SpanContext.SpanID())
	}
}

func TestSetupOffWithoutEnv(t *testing.T) {
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED"} {
		t.Setenv(k, "")
	}
	prev := otel.GetTracerProvider()
	shutdown, err := Setup(context.Background(), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if shutdown == nil {
		t.Fatal("nil shutdown")
	}
	if otel.GetTracerProvider() != prev {
		t.Error("Setup installed a tracer provider with tracing off")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestEnabled(t *testing.T) {
	cases := []struct {
		exporter, endpoint, tracesEndpoint string
		want, wantErr                      bool
	}{
		{"", "", "", false, false},
		{"none", "", "", false, false},
		{"none", "localhost:4317", "", false, false},
		{"otlp", "", "", true, false},
		{"", "localhost:4317", "", true, false},
		{"", "", "localhost:4317", true, false},
		{"zipkin", "", "", false, true},
	}
	for _, c := range cases {
		t.Setenv("OTEL_SDK_DISABLED", "")
		t.Setenv("OTEL_TRACES_EXPORTER", c.exporter)
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", c.endpoint)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.tracesEndpoint)
		got, err := Enabled()
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%+v: Enabled() = %v, %v", c, got, err)
		}
	}
}

func TestOptionsIfOnFollowTheEnvironment(t *testing.T) {
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED"} {
		t.Setenv(k, "")
	}
	if _, ok := ServerOptionIfOn().(grpc.EmptyServerOption); !ok {
		t.Error("tracing off: ServerOptionIfOn installs a stats handler")
	}
	if _, ok := DialOptionIfOn().(grpc.EmptyDialOption); !ok {
		t.Error("tracing off: DialOptionIfOn installs a stats handler")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
	if _, ok := ServerOptionIfOn().(grpc.EmptyServerOption); ok {
		t.Error("tracing on: ServerOptionIfOn installs nothing")
	}
	if _, ok := DialOptionIfOn().(grpc.EmptyDialOption); ok {
		t.Error("tracing on: DialOptionIfOn installs nothing")
	}
}
