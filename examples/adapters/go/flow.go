package main

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/trace"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"github.com/ptel-dev/ptel/bindings/go/ptelsdk"
)

// gatewayRequest is the host's side: a request span, one plugin invocation
// under it, the plugin's telemetry handed to the SDK by the adapter.
func gatewayRequest(ctx context.Context, tracer trace.Tracer, host *ptelsdk.Host) (trace.TraceID, error) {
	ctx, req := tracer.Start(ctx, "gateway.request", trace.WithSpanKind(trace.SpanKindServer))
	defer req.End()
	_, inv, err := host.Begin(ctx, &ptel.InvocationOptions{PluginName: "pii_filter",
		PluginVersion: "1.0.0", Hook: "tool_pre_invoke"})
	if err != nil {
		return trace.TraceID{}, err
	}
	defer inv.Close()
	pluginContext, err := inv.ContextBytes()
	if err != nil {
		return trace.TraceID{}, err
	}
	payload, err := piiFilter(pluginContext)
	if err != nil {
		return trace.TraceID{}, err
	}
	report, err := inv.End(payload, ptel.OutcomeOK, "")
	if err != nil {
		return trace.TraceID{}, err
	}
	if report.SpansDropped+report.MetricsDropped+report.PointsDropped != 0 {
		return trace.TraceID{}, fmt.Errorf("the host dropped plugin telemetry: %s", report.JSON())
	}
	return req.SpanContext().TraceID(), nil
}

// piiFilter is the plugin's side: it records with its own ptel recorder
// under the PluginContext the host handed over and returns the payload.
func piiFilter(pluginContext []byte) ([]byte, error) {
	pc, err := ptel.DecodeContext(pluginContext)
	if err != nil {
		return nil, err
	}
	rec, err := ptel.NewRecorder(pc, nil)
	if err != nil {
		return nil, err
	}
	defer rec.Close()
	ctx, scan := rec.Start(context.Background(), "pii_filter.scan", ptel.WithSpanKind(ptel.SpanKindInternal))
	scan.SetAttributes(ptel.Int("pii.count", 2))
	rctx, redact := rec.Start(ctx, "pii_filter.redact")
	redact.AddEvent("pii.detected", ptel.String("pii.kind", "email"))
	rec.Int64Counter("pii.detections", ptel.WithUnit("{detection}")).Add(rctx, 2, ptel.String("pii.kind", "email"))
	rec.Int64UpDownCounter("pii.inflight", ptel.WithUnit("{request}")).Add(rctx, 1)
	rec.Int64Gauge("pii.buffer.size", ptel.WithUnit("By")).Record(rctx, 128)
	duration := rec.Float64Histogram("pii.scan.duration", ptel.WithUnit("ms"))
	duration.Record(rctx, 1.5)
	duration.Record(rctx, 7.0)
	redact.End()
	scan.End()
	return rec.Finish()
}
