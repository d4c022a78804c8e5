// Package ptelsdk hands ptel plugin telemetry to the host's own
// OpenTelemetry Go SDK (go.opentelemetry.io/otel/sdk), so the processors,
// exporters and resource the host already configured apply to plugin spans
// and metrics as to its own.
//
// The ten lines a host writes:
//
//	spans := ptelsdk.NewSpanProcessor(sdktrace.NewBatchSpanProcessor(traceExporter))
//	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(spans))
//	metrics, _ := ptelsdk.NewMetricProducer(nil)
//	reader := sdkmetric.NewPeriodicReader(metricExporter, sdkmetric.WithProducer(metrics))
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
//	host := ptelsdk.NewHost(tp, spans, metrics)
//
//	ctx, inv, err := host.Begin(ctx, &ptel.InvocationOptions{PluginName: "pii_filter", Hook: "tool_pre_invoke"})
//	payload := runPlugin(inv.ContextBytes())       // the plugin records with its ptel.Recorder
//	report, err := inv.End(payload, ptel.OutcomeOK, "")
//	inv.Close()
//
// # Spans
//
// The invocation span is a real span of the host's TracerProvider (scope
// "ptel"), started by Host.Begin as a child of the span in the caller's
// context; its ids, start time and sampling decision are passed to the
// core's invocation, so the plugin's spans are its children. At End the
// core validates the payload; the SDK span then takes the attributes,
// status and end time the core gave the invocation span, so the outcome
// conventions (plugin.outcome, error.type) are decided once, in C.
//
// Validated plugin spans enter the pipeline as sdktrace.ReadOnlySpan
// values built with tracetest.SpanStub.Snapshot, the SDK's public way to
// make one (ReadOnlySpan has an unexported method, and the SDK offers no
// other constructor). Every OTLP field is carried: ids, trace flags and
// state, parent and whether it is remote, name, kind, start and end times,
// attributes (every OTLP value kind, since attribute.Value has them all),
// events, links, status and the three dropped counts, with the plugin's
// instrumentation scope (its name and version) and the resource of the
// host's invocation span. ChildSpanCount counts the span's children in the
// payload. An invalid tracestate (the core only checks its UTF-8) becomes
// empty, as the SDK's propagator would make it.
//
// A TracerProvider does not expose its processors, and a processor cannot
// reach its siblings, so the host wraps the processors that should see
// plugin spans in a SpanProcessor and registers that: its own spans pass
// through unchanged (OnStart and OnEnd), plugin spans arrive through OnEnd
// only, since an SDK ReadWriteSpan cannot be made outside the SDK; they end
// before the invocation span, as children do. Processors registered
// outside the wrapper see only host spans. The other honest choices were
// worse: re-creating plugin spans through a Tracer would give them new ids
// and the SDK's limits, and asking the host to list its processors twice
// invites the two lists to drift apart.
//
// # Metrics
//
// MetricProducer is an sdkmetric.Producer: the core's aggregator folds
// each invocation's validated deltas into cumulative streams, and the
// host's reader collects them beside its own metrics under the
// MeterProvider's resource (per metric type see MetricProducer).
package ptelsdk
