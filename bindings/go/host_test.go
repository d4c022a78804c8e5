package ptel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

var hostParentID = mustSpanID("1111111111111111")

// hostCtx is a host goroutine's context with its current OpenTelemetry span.
func hostCtx() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: hostParentID,
		TraceFlags: trace.FlagsSampled, Remote: true})
	return trace.ContextWithSpanContext(bg, sc)
}

func beginFx(t testing.TB, clock *ptel.ManualClock, mod func(*ptel.InvocationOptions)) *ptel.Invocation {
	t.Helper()
	o := &ptel.InvocationOptions{PluginName: "pii", PluginVersion: "1.0", Hook: "pre",
		SpanID: fxSpanID, Clock: clock, Attributes: []ptel.KeyValue{ptel.String("plugin.mode", "sync")}}
	if mod != nil {
		mod(o)
	}
	inv, err := ptel.BeginInvocation(hostCtx(), o)
	mustNoErr(t, err)
	t.Cleanup(inv.Close)
	return inv
}

// pluginRun is a plugin invocation under the context the host hands over.
func pluginRun(t testing.TB, inv *ptel.Invocation, clock *ptel.ManualClock) []byte {
	t.Helper()
	pc, err := inv.Context()
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(pc, &ptel.RecorderOptions{Clock: clock, IDs: &counterIDs{}})
	mustNoErr(t, err)
	defer rec.Close()
	ctx, s := rec.Start(bg, "work", ptel.WithSpanKind(ptel.SpanKindInternal))
	s.SetAttributes(ptel.String("pii.type", "email"))
	rec.Int64Counter("detections", ptel.WithUnit("{detection}")).Add(ctx, 2, ptel.String("pii.type", "email"))
	clock.Advance(100)
	s.End()
	return mustFinish(t, rec)
}

func TestInvocationEndToEnd(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	inv := beginFx(t, clock, nil)
	pc, err := inv.Context()
	mustNoErr(t, err)
	f := pc.Fields()
	eq(t, "plugin trace", f.TraceID, fxTraceID)
	eq(t, "plugin parent", f.SpanID, fxSpanID)
	eq(t, "decision", f.Decision, ptel.DecisionRecordAndSample)
	eq(t, "time base", f.TimeBase, fxTimeBase)
	eq(t, "names", f.PluginName+"/"+f.PluginVersion+"/"+f.Hook, "pii/1.0/pre")
	sc := inv.SpanContext()
	eq(t, "invocation span", sc.SpanID(), fxSpanID)
	eq(t, "invocation sampled", sc.IsSampled(), true)
	tp, err := inv.Traceparent()
	mustNoErr(t, err)
	eq(t, "traceparent", tp, fxTraceparent)
	env, err := inv.Env()
	mustNoErr(t, err)
	eq(t, "env", env[0], "TRACEPARENT="+fxTraceparent)
	cb, err := inv.ContextBytes()
	mustNoErr(t, err)
	enc, err := pc.Encode()
	mustNoErr(t, err)
	eqBytes(t, "context bytes", cb, enc)
	if _, err := inv.ExportTraces(nil); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("export before End: %v", err)
	}

	payload := pluginRun(t, inv, clock)
	clock.Advance(50)
	rep, err := inv.End(payload, ptel.OutcomeOK, "")
	mustNoErr(t, err)
	eq(t, "accepted spans", rep.SpansAccepted, 1)
	eq(t, "accepted metrics", rep.MetricsAccepted, 1)
	eq(t, "accepted points", rep.PointsAccepted, 1)
	eq(t, "dropped", rep.SpansDropped+rep.MetricsDropped+rep.PointsDropped, 0)
	eq(t, "first reason", rep.FirstReason, ptel.ReasonNone)
	eq(t, "rejected", rep.Rejected, false)
	eq(t, "reason map", len(rep.Reasons.Map()), 0)
	if !strings.Contains(rep.JSON(), `"status":"ok"`) {
		t.Fatalf("report JSON %s", rep.JSON())
	}
	if _, err := inv.End(payload, ptel.OutcomeOK, ""); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("End twice: %v", err)
	}

	opts := &ptel.ExportOptions{Resource: []ptel.KeyValue{ptel.String("service.name", "host")}}
	traces, err := inv.ExportTraces(opts)
	mustNoErr(t, err)
	td := decodeTraces(t, traces)
	eq(t, "resource spans", len(td.ResourceSpans), 1)
	rs := td.ResourceSpans[0]
	sameKeyValues(t, "resource", rs.Resource.Attributes, keyValues(ptel.String("service.name", "host")))
	eq(t, "scopes", len(rs.ScopeSpans), 2)
	host, plugin := rs.ScopeSpans[0], rs.ScopeSpans[1]
	eq(t, "host scope", host.Scope.Name, "ptel")
	eq(t, "plugin scope", plugin.Scope.Name+" "+plugin.Scope.Version, "pii 1.0")
	is := host.Spans[0]
	eq(t, "invocation name", is.Name, "plugin.execute")
	eqBytes(t, "invocation id", is.SpanId, fxSpanID[:])
	eqBytes(t, "invocation parent", is.ParentSpanId, hostParentID[:])
	eq(t, "invocation start", is.StartTimeUnixNano, fxTimeBase)
	eq(t, "invocation end", is.EndTimeUnixNano, fxTimeBase+150)
	ia := attrMap(is.Attributes)
	eq(t, "plugin.name", ia["plugin.name"].GetStringValue(), "pii")
	eq(t, "plugin.outcome", ia["plugin.outcome"].GetStringValue(), "ok")
	eq(t, "plugin.mode", ia["plugin.mode"].GetStringValue(), "sync")
	// The plugin's span is exported as the plugin encoded it.
	tel := decodeTelemetry(t, payload)
	if !proto.Equal(plugin.Spans[0], tel.Spans[0]) {
		t.Fatalf("plugin span changed:\n%v\n%v", plugin.Spans[0], tel.Spans[0])
	}

	metrics, err := inv.ExportMetrics(opts)
	mustNoErr(t, err)
	md := decodeMetrics(t, metrics)
	sm := md.ResourceMetrics[0].ScopeMetrics[0]
	eq(t, "metric scope", sm.Scope.Name, "pii")
	eq(t, "metric", sm.Metrics[0].Name, "detections")
	eq(t, "value", sm.Metrics[0].GetSum().DataPoints[0].GetAsInt(), 2)

	for name, js := range map[string]func(*ptel.ExportOptions) ([]byte, error){
		"traces": inv.TracesJSON, "metrics": inv.MetricsJSON} {
		b, err := js(opts)
		mustNoErr(t, err)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s JSON: %v\n%s", name, err, b)
		}
		key := map[string]string{"traces": "resourceSpans", "metrics": "resourceMetrics"}[name]
		if _, ok := doc[key]; !ok {
			t.Fatalf("%s JSON lacks its resource list: %s", name, b)
		}
	}
	if !bytes.Contains(mustJSON(t, inv.TracesJSON, opts), []byte(`"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"`)) {
		t.Fatal("trace id not hex in JSON")
	}

	// Splicing: scope spans of two invocations under one resource.
	ss, err := inv.ExportScopeSpans(opts)
	mustNoErr(t, err)
	wrapped, err := ptel.WrapTraces(opts, ss)
	mustNoErr(t, err)
	eqBytes(t, "wrap(scope spans) = export", wrapped, traces)
	sm2, err := inv.ExportScopeMetrics(opts)
	mustNoErr(t, err)
	wm, err := ptel.WrapMetrics(opts, sm2)
	mustNoErr(t, err)
	eqBytes(t, "wrap(scope metrics) = export", wm, metrics)
	double, err := ptel.WrapTraces(opts, append(append([]byte{}, ss...), ss...))
	mustNoErr(t, err)
	eq(t, "doubled scopes", len(decodeTraces(t, double).ResourceSpans[0].ScopeSpans), 4)

	only, err := inv.ExportTraces(&ptel.ExportOptions{OmitInvocationSpan: true})
	mustNoErr(t, err)
	eq(t, "without invocation span", len(allSpans(decodeTraces(t, only))), 1)

	inv.Close()
	inv.Close()
	for name, call := range map[string]func() error{
		"export":  func() error { _, err := inv.ExportTraces(nil); return err },
		"context": func() error { _, err := inv.Context(); return err },
		"end":     func() error { _, err := inv.End(nil, 0, ""); return err },
		"tp":      func() error { _, err := inv.Traceparent(); return err },
	} {
		if err := call(); !errors.Is(err, ptel.ErrState) {
			t.Fatalf("%s after Close: %v", name, err)
		}
	}
	eq(t, "span context after close", inv.SpanContext().IsValid(), false)
}

func mustJSON(t testing.TB, f func(*ptel.ExportOptions) ([]byte, error), o *ptel.ExportOptions) []byte {
	t.Helper()
	b, err := f(o)
	mustNoErr(t, err)
	return b
}

func TestInvocationValidatesHostilePayloads(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	inv := beginFx(t, clock, nil)
	rep, err := inv.End([]byte{0x12, 0xff, 0xff}, ptel.OutcomeError, "ValueError")
	if !errors.Is(err, ptel.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
	eq(t, "rejected", rep.Rejected, true)
	eq(t, "first reason", rep.FirstReason, ptel.ReasonMalformed)
	eq(t, "malformed count", rep.Reasons[ptel.ReasonMalformed], 1)
	eq(t, "first status", rep.First.Status, ptel.ErrTruncated)
	if !strings.Contains(rep.JSON(), "malformed") {
		t.Fatalf("report JSON %s", rep.JSON())
	}
	// Only the invocation span remains, with the outcome.
	traces, err := inv.ExportTraces(nil)
	mustNoErr(t, err)
	spans := allSpans(decodeTraces(t, traces))
	eq(t, "spans", len(spans), 1)
	eq(t, "status", spans[0].Status.GetCode(), tracepb.Status_STATUS_CODE_ERROR)
	a := attrMap(spans[0].Attributes)
	eq(t, "error.type", a["error.type"].GetStringValue(), "ValueError")
	eq(t, "outcome", a["plugin.outcome"].GetStringValue(), "error")

	// A payload recorded under another trace: its span is dropped.
	other, err := ptel.ContextFromW3C("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "", "")
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(other, nil)
	mustNoErr(t, err)
	defer rec.Close()
	_, s := rec.Start(bg, "foreign")
	s.End()
	inv2 := beginFx(t, clock, nil)
	rep2, err := inv2.End(mustFinish(t, rec), ptel.OutcomeOK, "")
	mustNoErr(t, err)
	eq(t, "dropped", rep2.SpansDropped, 1)
	eq(t, "reason", rep2.Reasons.Map()["trace_id_mismatch"], 1)
	eq(t, "first", rep2.FirstReason, ptel.ReasonTraceIDMismatch)

	inv3 := beginFx(t, clock, nil)
	if _, err := inv3.End(nil, ptel.Outcome(9), ""); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("bad outcome: %v", err)
	}
	inv4 := beginFx(t, clock, nil)
	if _, err := inv4.End(nil, ptel.OutcomeOK, "\xff"); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("bad error type: %v", err)
	}
}

func TestBeginInvocationVariants(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	w3c, err := ptel.BeginInvocationW3C("00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-00",
		"v=1", "k=v", &ptel.InvocationOptions{Clock: clock})
	mustNoErr(t, err)
	defer w3c.Close()
	pc, err := w3c.Context()
	mustNoErr(t, err)
	eq(t, "trace", pc.Fields().TraceID, fxTraceID)
	eq(t, "decision from unsampled parent", pc.Decision(), ptel.DecisionDrop)
	eq(t, "tracestate", pc.Fields().TraceState, "v=1")
	eq(t, "baggage", pc.Fields().Baggage, "k=v")

	bad, err := ptel.BeginInvocationW3C("garbage", "v=1", "", nil)
	mustNoErr(t, err)
	defer bad.Close()
	bsc := bad.SpanContext()
	if !bsc.IsValid() || bsc.TraceID() == fxTraceID {
		t.Fatal("an invalid traceparent must start a new trace")
	}
	bpc, err := bad.Context()
	mustNoErr(t, err)
	eq(t, "new trace decision", bpc.Decision(), ptel.DecisionRecordAndSample)
	eq(t, "tracestate of an invalid parent dropped", bpc.Fields().TraceState, "")
	eq(t, "random flag", bsc.TraceFlags()&2, 2)

	drop := ptel.DecisionRecordOnly
	noctx, err := ptel.BeginInvocation(nil, &ptel.InvocationOptions{Decision: &drop, //nolint:staticcheck
		Start: time.Unix(0, fxTimeBase), SpanName: "custom",
		Policy: &ptel.HostPolicy{AcceptRecordOnly: true, TimeSlack: -1, ReservedKeys: []string{},
			TimePolicy: ptel.TimeReject, Limits: ptel.Limits{SpanCount: 1}}})
	mustNoErr(t, err)
	defer noctx.Close()
	npc, err := noctx.Context()
	mustNoErr(t, err)
	eq(t, "explicit decision", npc.Decision(), ptel.DecisionRecordOnly)
	eq(t, "policy limits reach the plugin", npc.Limits().SpanCount, 1)

	for name, o := range map[string]*ptel.InvocationOptions{
		"empty key": {Attributes: []ptel.KeyValue{ptel.String("", "x")}},
		"utf8":      {PluginName: "\xff"},
		"decision":  {Decision: func() *ptel.Decision { d := ptel.Decision(7); return &d }()},
	} {
		if _, err := ptel.BeginInvocation(bg, o); err == nil {
			t.Fatalf("%s: no error", name)
		}
	}
	var nilInv *ptel.Invocation
	if _, err := nilInv.End(nil, 0, ""); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil End: %v", err)
	}
	if _, err := nilInv.ExportMetrics(nil); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil export: %v", err)
	}
	nilInv.Close()
}

func TestAggregator(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	agg, err := ptel.NewAggregator(&ptel.AggregatorOptions{Clock: clock, CardinalityLimit: 10, MetricLimit: 10})
	mustNoErr(t, err)
	defer agg.Close()
	inv := beginFx(t, clock, nil)
	if err := agg.Add(inv); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("Add before End: %v", err)
	}
	for k := 0; k < 3; k++ {
		inv := beginFx(t, clock, nil)
		_, err := inv.End(pluginRun(t, inv, clock), ptel.OutcomeOK, "")
		mustNoErr(t, err)
		mustNoErr(t, agg.Add(inv))
	}
	st := agg.Stats()
	eq(t, "invocations", st.Invocations, 3)
	eq(t, "points", st.PointsAdded, 3)
	eq(t, "metrics", st.Metrics, 1)
	eq(t, "streams", st.Streams, 1)
	out, err := agg.Export(nil, ptel.TemporalityCumulative)
	mustNoErr(t, err)
	p := decodeMetrics(t, out).ResourceMetrics[0].ScopeMetrics[0].Metrics[0].GetSum()
	eq(t, "cumulative", p.DataPoints[0].GetAsInt(), 6)
	eq(t, "temporality", int32(p.AggregationTemporality), int32(ptel.TemporalityCumulative))
	d1, err := agg.Export(nil, ptel.TemporalityDelta)
	mustNoErr(t, err)
	eq(t, "first delta", decodeMetrics(t, d1).ResourceMetrics[0].ScopeMetrics[0].Metrics[0].GetSum().DataPoints[0].GetAsInt(), 6)
	d2, err := agg.Export(nil, ptel.TemporalityDelta)
	mustNoErr(t, err)
	eq(t, "no change, no data", len(d2), 0)
	if _, err := agg.Export(nil, ptel.Temporality(7)); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("bad temporality: %v", err)
	}
	agg.Close()
	agg.Close()
	if err := agg.Add(inv); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("Add after Close: %v", err)
	}
	if _, err := agg.Export(nil, ptel.TemporalityDelta); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("Export after Close: %v", err)
	}
	eq(t, "stats after close", agg.Stats(), ptel.AggregatorStats{})
	var nilAgg *ptel.Aggregator
	if err := nilAgg.Add(inv); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil Add: %v", err)
	}
	nilAgg.Close()
	agg2, err := ptel.NewAggregator(nil)
	mustNoErr(t, err)
	defer agg2.Close()
	empty, err := agg2.Export(nil, ptel.TemporalityCumulative)
	mustNoErr(t, err)
	eq(t, "empty export", len(empty), 0)
}

func TestRenderJSON(t *testing.T) {
	c, err := ptel.NewContext(fxFields(ptel.DecisionRecordAndSample))
	mustNoErr(t, err)
	b, err := c.Encode()
	mustNoErr(t, err)
	js, err := ptel.RenderJSON(ptel.JSONPluginContext, b)
	mustNoErr(t, err)
	if !bytes.Contains(js, []byte(`"pluginName":"pii_filter"`)) {
		t.Fatalf("JSON %s", js)
	}
	if _, err := ptel.RenderJSON(ptel.JSONMessage(99), b); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("bad type: %v", err)
	}
	if _, err := ptel.RenderJSON(ptel.JSONSpan, []byte{0x0a, 0x05}); !errors.Is(err, ptel.ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	empty, err := ptel.RenderJSON(ptel.JSONMetric, nil)
	mustNoErr(t, err)
	eq(t, "empty message", string(empty), "{}")
}

// A parent with a trace id and no span id makes the invocation span the
// root of that trace (an SDK adapter whose root span the core mirrors); the
// span in ctx is then not used.
func TestInvocationRootOfGivenTrace(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	inv := beginFx(t, clock, func(o *ptel.InvocationOptions) {
		o.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID,
			TraceFlags: trace.FlagsSampled})
	})
	_, err := inv.End(nil, ptel.OutcomeOK, "")
	mustNoErr(t, err)
	traces, err := inv.ExportTraces(nil)
	mustNoErr(t, err)
	is := decodeTraces(t, traces).ResourceSpans[0].ScopeSpans[0].Spans[0]
	eqBytes(t, "trace id", is.TraceId, fxTraceID[:])
	eqBytes(t, "span id", is.SpanId, fxSpanID[:])
	eq(t, "parent span id", len(is.ParentSpanId), 0)
}

type fixedIDs struct{ span trace.SpanID }

func (g fixedIDs) NewSpanID() trace.SpanID { return g.span }

type fixedTraceIDs struct{ fixedIDs }

func (fixedTraceIDs) NewTraceID() trace.TraceID { return fxTraceID }

// InvocationOptions.IDs names the invocation span and, as a
// TraceIDGenerator, the trace a parentless invocation starts.
func TestInvocationIDGenerator(t *testing.T) {
	sid := mustSpanID("2222222222222222")
	for _, c := range []struct {
		name   string
		ids    ptel.IDGenerator
		ctx    context.Context
		parent []byte
	}{
		{"span id under the host span", fixedIDs{sid}, hostCtx(), hostParentID[:]},
		{"new trace", fixedTraceIDs{fixedIDs{sid}}, bg, nil},
		{"the host's trace wins", fixedTraceIDs{fixedIDs{sid}}, hostCtx(), hostParentID[:]},
	} {
		inv, err := ptel.BeginInvocation(c.ctx, &ptel.InvocationOptions{PluginName: "p", IDs: c.ids})
		mustNoErr(t, err)
		_, err = inv.End(nil, ptel.OutcomeOK, "")
		mustNoErr(t, err)
		traces, err := inv.ExportTraces(nil)
		mustNoErr(t, err)
		is := decodeTraces(t, traces).ResourceSpans[0].ScopeSpans[0].Spans[0]
		eqBytes(t, c.name+": span id", is.SpanId, sid[:])
		eqBytes(t, c.name+": trace id", is.TraceId, fxTraceID[:])
		eqBytes(t, c.name+": parent", is.ParentSpanId, c.parent)
		eq(t, c.name+": sampled, not random", is.Flags&0xff, 1)
		inv.Close()
	}
	// A generator that returns the zero id leaves the choice to the core.
	inv, err := ptel.BeginInvocation(hostCtx(), &ptel.InvocationOptions{IDs: fixedIDs{}})
	mustNoErr(t, err)
	defer inv.Close()
	if !inv.SpanContext().SpanID().IsValid() {
		t.Fatal("zero span id from the generator was used")
	}
}
