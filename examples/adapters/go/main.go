// Command go is the Go SDK adapter example: a gateway-like host with the
// OpenTelemetry Go SDK exporting over OTLP/HTTP (configured by the standard
// OTEL_* variables) runs one invocation of the pii_filter plugin, in
// process, whose spans and metrics reach the host's exporters through
// ptelsdk. It prints the request's trace id.
//
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=gateway go run ./examples/adapters/go
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ptel-dev/ptel/bindings/go/ptelsdk"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "adapter example:", err)
		os.Exit(1)
	}
}

// run configures the host's SDK from the environment, runs the flow and
// shuts the providers down, which flushes both exporters.
func run(ctx context.Context, stdout io.Writer) (err error) {
	traceExp, err := otlptracehttp.New(ctx)
	if err != nil {
		return err
	}
	metricExp, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return err
	}
	// service.name from OTEL_SERVICE_NAME, read now (resource.Default is
	// read once per process)
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return err
	}
	spans := ptelsdk.NewSpanProcessor(sdktrace.NewBatchSpanProcessor(traceExp))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(spans))
	metrics, err := ptelsdk.NewMetricProducer(nil)
	if err != nil {
		return err
	}
	defer metrics.Close()
	reader := sdkmetric.NewPeriodicReader(metricExp, sdkmetric.WithProducer(metrics))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))

	traceID, err := gatewayRequest(ctx, tp.Tracer("gateway"), ptelsdk.NewHost(tp, spans, metrics))
	if err == nil {
		err = tp.Shutdown(ctx)
	}
	if err == nil {
		err = mp.Shutdown(ctx)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "trace_id=%s\n", traceID)
	return err
}
