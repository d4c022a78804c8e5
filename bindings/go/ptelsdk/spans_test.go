package ptelsdk_test

import (
	"errors"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

var pluginScope = instrumentation.Scope{Name: "pii_filter", Version: "1.0.0"}

var remoteSC = func() trace.SpanContext {
	ts, err := trace.ParseTraceState("vendor=a,other=b")
	if err != nil {
		panic(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8},
		TraceFlags: 3, TraceState: ts, Remote: true})
}()

// eqStub compares every field a SpanStub has.
func eqStub(t *testing.T, what string, got, want tracetest.SpanStub) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for k := 0; k < g.NumField(); k++ {
		name := g.Type().Field(k).Name
		if name == "InstrumentationLibrary" { // deprecated copy of InstrumentationScope
			continue
		}
		if gv, wv := g.Field(k).Interface(), w.Field(k).Interface(); !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s: %s = %#v, want %#v", what, name, gv, wv)
		}
	}
}

func TestPluginSpansEnterThePipeline(t *testing.T) {
	f := newFixture(t, sdktrace.AlwaysSample(), nil)
	tracer := f.tp.Tracer("gateway")
	ctx, req := tracer.Start(bg, "gateway.request", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(at(0)))
	ictx, inv := f.begin(t, ctx)
	if got := trace.SpanFromContext(ictx); got != inv.Span() {
		t.Fatal("the returned context does not carry the invocation span")
	}
	isc, rsc := inv.Span().SpanContext(), req.SpanContext()
	if !inv.SpanContext().Equal(isc) {
		t.Fatalf("core invocation span %v, SDK span %v", inv.SpanContext(), isc)
	}

	rec := f.recorder(t, inv)
	f.clock.Set(1000)
	pctx, scan := rec.Start(bg, "pii_filter.scan", ptel.WithSpanKind(ptel.SpanKindInternal),
		ptel.WithAttributes(ptel.Int("pii.count", 2)))
	f.clock.Set(2000)
	_, redact := rec.Start(pctx, "pii_filter.redact", ptel.WithSpanKind(ptel.SpanKindClient),
		ptel.WithLinks(ptel.Link{SpanContext: rsc, Attributes: []ptel.KeyValue{ptel.String("why", "origin")}},
			ptel.Link{SpanContext: remoteSC}))
	redact.SetAttributes(
		ptel.String("s", "x"), ptel.Bool("b", true), ptel.Int64("i", -7), ptel.Float64("d", 0.5),
		ptel.Bytes("raw", []byte{0, 1, 0xff}),
		ptel.StringSlice("ss", []string{"a", "b"}), ptel.Int64Slice("is", []int64{1, 2}),
		ptel.Float64Slice("ds", []float64{1.5}), ptel.BoolSlice("bs", []bool{false}),
		ptel.Slice("mixed", ptel.IntValue(1), ptel.StringValue("one")),
		ptel.Slice("none"),
		ptel.Map("m", ptel.String("k", "v"), ptel.Map("inner", ptel.Int("n", 1))),
		ptel.Empty("e"))
	f.clock.Set(3000)
	redact.AddEvent("pii.detected", ptel.String("pii.kind", "email"))
	redact.SetStatus(ptel.StatusError, "redaction failed")
	f.clock.Set(4000)
	redact.End()
	f.clock.Set(5000)
	scan.End()
	payload := finish(t, rec)
	f.clock.Set(6000)
	report, err := inv.End(payload, ptel.OutcomeOK, "")
	if err != nil {
		t.Fatal(err)
	}
	if report.SpansAccepted != 2 || report.SpansDropped != 0 || report.FirstReason != ptel.ReasonNone {
		t.Fatalf("report %+v", report)
	}
	req.End(trace.WithTimestamp(at(7000)))

	got := f.all.stubs()
	if len(got) != 4 {
		t.Fatalf("%d spans, want 4", len(got))
	}
	flags := trace.FlagsSampled
	scanSC := trace.NewSpanContext(trace.SpanContextConfig{TraceID: rsc.TraceID(), SpanID: sid(1), TraceFlags: flags})
	redactSC := trace.NewSpanContext(trace.SpanContextConfig{TraceID: rsc.TraceID(), SpanID: sid(2), TraceFlags: flags})
	invParent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: rsc.TraceID(), SpanID: isc.SpanID(), TraceFlags: flags})
	eqStub(t, "redact", got[0], tracetest.SpanStub{
		Name: "pii_filter.redact", SpanContext: redactSC, Parent: scanSC.WithRemote(false),
		SpanKind: trace.SpanKindClient, StartTime: at(2000), EndTime: at(4000),
		Attributes: []attribute.KeyValue{
			attribute.String("s", "x"), attribute.Bool("b", true), attribute.Int64("i", -7),
			attribute.Float64("d", 0.5), attribute.ByteSlice("raw", []byte{0, 1, 0xff}),
			attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{1, 2}),
			attribute.Float64Slice("ds", []float64{1.5}), attribute.BoolSlice("bs", []bool{false}),
			attribute.Slice("mixed", attribute.Int64Value(1), attribute.StringValue("one")),
			attribute.Slice("none"),
			attribute.Map("m", attribute.String("k", "v"), attribute.Map("inner", attribute.Int64("n", 1))),
			{Key: "e"},
		},
		Events: []sdktrace.Event{{Name: "pii.detected", Time: at(3000),
			Attributes: []attribute.KeyValue{attribute.String("pii.kind", "email")}}},
		Links: []sdktrace.Link{{SpanContext: rsc.WithRemote(false),
			Attributes: []attribute.KeyValue{attribute.String("why", "origin")}}, {SpanContext: remoteSC}},
		Status:               sdktrace.Status{Code: codes.Error, Description: "redaction failed"},
		Resource:             f.res,
		InstrumentationScope: pluginScope,
	})
	eqStub(t, "scan", got[1], tracetest.SpanStub{
		Name: "pii_filter.scan", SpanContext: scanSC, Parent: invParent, SpanKind: trace.SpanKindInternal,
		StartTime: at(1000), EndTime: at(5000),
		Attributes:     []attribute.KeyValue{attribute.Int64("pii.count", 2)},
		ChildSpanCount: 1, Resource: f.res, InstrumentationScope: pluginScope,
	})
	eqStub(t, "invocation", got[2], tracetest.SpanStub{
		Name: "plugin.execute", SpanContext: isc, Parent: rsc, SpanKind: trace.SpanKindInternal,
		StartTime: at(0), EndTime: at(6000),
		Attributes: []attribute.KeyValue{attribute.String("plugin.name", "pii_filter"),
			attribute.String("plugin.hook", "tool_pre_invoke"), attribute.String("plugin.version", "1.0.0"),
			attribute.String("plugin.outcome", "ok")},
		Resource:             f.res,
		InstrumentationScope: instrumentation.Scope{Name: "ptel", Version: ptel.CoreVersion},
	})
	if got[3].Name != "gateway.request" {
		t.Fatalf("last span %q", got[3].Name)
	}
	// The SDK's own processors saw the same spans.
	if n := len(f.mem.GetSpans()); n != 4 {
		t.Fatalf("in-memory exporter holds %d spans, want 4", n)
	}
	if _, err := inv.End(payload, ptel.OutcomeOK, ""); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("second End: %v, want ErrState", err)
	}
	if n := len(f.all.stubs()); n != 4 {
		t.Fatalf("second End handed over spans again: %d", n)
	}
}
