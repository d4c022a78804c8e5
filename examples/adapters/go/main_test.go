package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ptel-dev/ptel/bindings/go/ptelsdk"
)

var pluginScope = instrumentation.Scope{Name: "pii_filter", Version: "1.0.0"}

// The flow of the example against in-memory SDK exporters: the trace tree,
// scopes, resource and every metric of the contract.
func TestFlowInMemory(t *testing.T) {
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", "gateway"))
	mem := tracetest.NewInMemoryExporter()
	spans := ptelsdk.NewSpanProcessor(sdktrace.NewSimpleSpanProcessor(mem))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(spans))
	metrics, err := ptelsdk.NewMetricProducer(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.Close()
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(metrics))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(ctx) }()

	tid, err := gatewayRequest(ctx, tp.Tracer("gateway"), ptelsdk.NewHost(tp, spans, metrics))
	if err != nil {
		t.Fatal(err)
	}
	// (the in-memory exporter forgets its spans at shutdown)
	defer func() { _ = tp.Shutdown(ctx) }()
	got := mem.GetSpans()
	if len(got) != 4 {
		t.Fatalf("%d spans, want 4", len(got))
	}
	redact, scan, inv, req := got[0], got[1], got[2], got[3]
	for _, c := range []struct {
		s      tracetest.SpanStub
		name   string
		kind   trace.SpanKind
		parent trace.SpanID
		scope  string
	}{
		{req, "gateway.request", trace.SpanKindServer, trace.SpanID{}, "gateway"},
		{inv, "plugin.execute", trace.SpanKindInternal, req.SpanContext.SpanID(), "ptel"},
		{scan, "pii_filter.scan", trace.SpanKindInternal, inv.SpanContext.SpanID(), "pii_filter"},
		{redact, "pii_filter.redact", trace.SpanKindInternal, scan.SpanContext.SpanID(), "pii_filter"},
	} {
		s := c.s
		if s.Name != c.name || s.SpanKind != c.kind || s.Parent.SpanID() != c.parent ||
			s.SpanContext.TraceID() != tid || !s.SpanContext.IsSampled() || !s.Resource.Equal(res) ||
			s.InstrumentationScope.Name != c.scope || s.Status.Code != codes.Unset {
			t.Errorf("span %+v, want %s kind %v under %v in %s", s, c.name, c.kind, c.parent, c.scope)
		}
		if s.StartTime.Before(req.StartTime) || s.EndTime.After(req.EndTime) || s.EndTime.Before(s.StartTime) {
			t.Errorf("%s [%v, %v] outside the request [%v, %v]", c.name, s.StartTime, s.EndTime,
				req.StartTime, req.EndTime)
		}
	}
	if scan.InstrumentationScope != pluginScope || redact.InstrumentationScope != pluginScope {
		t.Fatalf("plugin scopes %v %v", scan.InstrumentationScope, redact.InstrumentationScope)
	}
	if want := []attribute.KeyValue{attribute.Int64("pii.count", 2)}; !equalKVs(scan.Attributes, want) {
		t.Fatalf("scan attributes %v", scan.Attributes)
	}
	if len(redact.Events) != 1 || redact.Events[0].Name != "pii.detected" ||
		!equalKVs(redact.Events[0].Attributes, []attribute.KeyValue{attribute.String("pii.kind", "email")}) {
		t.Fatalf("redact events %v", redact.Events)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	if !rm.Resource.Equal(res) || len(rm.ScopeMetrics) != 1 || rm.ScopeMetrics[0].Scope != pluginScope {
		t.Fatalf("metrics %+v", rm)
	}
	ms := map[string]metricdata.Metrics{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		ms[m.Name] = m
	}
	email := attribute.NewSet(attribute.String("pii.kind", "email"))
	if m, ok := ms["pii.detections"].Data.(metricdata.Sum[int64]); !ok || !m.IsMonotonic ||
		ms["pii.detections"].Unit != "{detection}" || m.DataPoints[0].Value != 2 || !m.DataPoints[0].Attributes.Equals(&email) {
		t.Errorf("pii.detections %+v", ms["pii.detections"])
	}
	if m, ok := ms["pii.inflight"].Data.(metricdata.Sum[int64]); !ok || m.IsMonotonic ||
		ms["pii.inflight"].Unit != "{request}" || m.DataPoints[0].Value != 1 || m.DataPoints[0].Attributes.Len() != 0 {
		t.Errorf("pii.inflight %+v", ms["pii.inflight"])
	}
	if m, ok := ms["pii.buffer.size"].Data.(metricdata.Gauge[int64]); !ok || ms["pii.buffer.size"].Unit != "By" ||
		m.DataPoints[0].Value != 128 {
		t.Errorf("pii.buffer.size %+v", ms["pii.buffer.size"])
	}
	h, ok := ms["pii.scan.duration"].Data.(metricdata.Histogram[float64])
	if !ok || ms["pii.scan.duration"].Unit != "ms" || len(h.DataPoints) != 1 {
		t.Fatalf("pii.scan.duration %+v", ms["pii.scan.duration"])
	}
	p := h.DataPoints[0]
	lo, _ := p.Min.Value()
	hi, _ := p.Max.Value()
	if p.Count != 2 || p.Sum != 8.5 || lo != 1.5 || hi != 7 || len(p.Bounds) != 15 || p.BucketCounts[1] != 1 ||
		p.BucketCounts[2] != 1 {
		t.Errorf("histogram point %+v", p)
	}
	if len(ms) != 4 {
		t.Errorf("%d metrics, want 4", len(ms))
	}
}

func equalKVs(a, b []attribute.KeyValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// run, as `go run` starts it, exports over OTLP/HTTP to the endpoint the
// environment names and prints the trace id it exported.
func TestRunExportsOverOTLPHTTP(t *testing.T) {
	var mu sync.Mutex
	var traces colltracepb.ExportTraceServiceRequest
	var metrics collmetricpb.ExportMetricsServiceRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		var err error
		switch r.URL.Path {
		case "/v1/traces":
			err = proto.UnmarshalOptions{Merge: true}.Unmarshal(b, &traces)
		case "/v1/metrics":
			err = proto.UnmarshalOptions{Merge: true}.Unmarshal(b, &metrics)
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "adapter-test")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(out.String())
	if !strings.HasPrefix(line, "trace_id=") || len(line) != len("trace_id=")+32 || strings.Contains(line, "\n") {
		t.Fatalf("stdout %q", out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	names := map[string]string{}
	for _, rs := range traces.GetResourceSpans() {
		svc := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				svc = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				if got := trace.TraceID(s.GetTraceId()).String(); "trace_id="+got != line {
					t.Errorf("span %s in trace %s", s.GetName(), got)
				}
				names[s.GetName()] = svc + "/" + ss.GetScope().GetName()
			}
		}
	}
	want := map[string]string{"gateway.request": "adapter-test/gateway", "plugin.execute": "adapter-test/ptel",
		"pii_filter.scan": "adapter-test/pii_filter", "pii_filter.redact": "adapter-test/pii_filter"}
	if len(names) != len(want) {
		t.Fatalf("spans %v", names)
	}
	for k, v := range want {
		if names[k] != v {
			t.Errorf("span %s: %q, want %q", k, names[k], v)
		}
	}
	n := 0
	for _, rm := range metrics.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			if sm.GetScope().GetName() == "pii_filter" {
				n += len(sm.GetMetrics())
			}
		}
	}
	if n != 4 {
		t.Fatalf("%d plugin metrics exported, want 4", n)
	}
}
