package ptelsdk_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	colltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"github.com/ptel-dev/ptel/bindings/go/ptelsdk"
)

// otlpSink is an OTLP/HTTP endpoint that keeps every span it receives.
type otlpSink struct {
	mu    sync.Mutex
	spans map[string]*tracepb.Span // by name
	scope map[string]string        // span name -> scope name
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req colltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				s.spans[sp.GetName()] = sp
				s.scope[sp.GetName()] = ss.GetScope().GetName() + "@" + ss.GetScope().GetVersion()
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

// What the SDK's own OTLP exporter sends for plugin spans is what the core
// validated: the adapter loses no field. The core omits an unset status
// that the SDK's exporter always writes, and the exporter (v1.47) does not
// write a link's trace_state, although the adapter's sdktrace.Link carries
// it (TestPluginSpansEnterThePipeline); nothing else may differ.
func TestSDKExporterSendsTheValidatedSpans(t *testing.T) {
	sink := &otlpSink{spans: map[string]*tracepb.Span{}, scope: map[string]string{}}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	exp, err := otlptracehttp.New(bg, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "gateway"))
	spans := ptelsdk.NewSpanProcessor(sdktrace.NewSimpleSpanProcessor(exp))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(spans))
	host := ptelsdk.NewHost(tp, spans, nil)
	clock := ptel.NewManualClock(t0)

	ts, _ := trace.ParseTraceState("vendor=a")
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3},
		SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true})
	ctx := trace.ContextWithRemoteSpanContext(bg, remote)
	_, inv, err := host.Begin(ctx, &ptel.InvocationOptions{PluginName: "p", PluginVersion: "2",
		Hook: "h", Clock: clock, RemoteContext: true,
		Policy: &ptel.HostPolicy{Limits: ptel.Limits{AttributeCount: 2, EventCount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	pc, err := inv.Context()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ptel.NewRecorder(pc, &ptel.RecorderOptions{Clock: clock, IDs: &seqIDs{}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	clock.Set(10)
	c, a := rec.Start(bg, "a", ptel.WithSpanKind(ptel.SpanKindProducer),
		ptel.WithAttributes(ptel.String("k1", "v"), ptel.Int("k2", 1), ptel.Bool("k3", true)),
		ptel.WithLinks(ptel.Link{SpanContext: remote, Attributes: []ptel.KeyValue{ptel.Int("l", 1)}}))
	a.AddEvent("e1", ptel.Slice("mixed", ptel.BoolValue(true), ptel.Float64Value(2)))
	a.AddEvent("e2")
	a.SetStatus(ptel.StatusOK, "")
	_, b := rec.Start(c, "b", ptel.WithSpanKind(ptel.SpanKindConsumer))
	b.SetAttributes(ptel.Map("m", ptel.Bytes("raw", []byte{9})), ptel.Empty("e"))
	clock.Set(20)
	a.End()
	clock.Set(30) // b stays open: the host ends it with status ERROR
	payload, err := rec.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.End(payload, ptel.OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	core, err := inv.ExportTraces(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	var want colltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(core, &want); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ss := range want.GetResourceSpans()[0].GetScopeSpans() {
		for _, w := range ss.GetSpans() {
			n++
			got := sink.spans[w.GetName()]
			if got == nil {
				t.Fatalf("span %q not exported", w.GetName())
			}
			for _, l := range w.GetLinks() {
				l.TraceState = ""
			}
			if w.Status == nil && got.GetStatus().GetCode() == 0 && got.GetStatus().GetMessage() == "" {
				got.Status = nil
			}
			if !proto.Equal(w, got) {
				t.Errorf("span %q differs:\ncore %s\nsdk  %s", w.GetName(), protojson.Format(w),
					protojson.Format(got))
			}
			if sc := ss.GetScope().GetName() + "@" + ss.GetScope().GetVersion(); sink.scope[w.GetName()] != sc &&
				w.GetName() != "plugin.execute" {
				t.Errorf("span %q scope %q, want %q", w.GetName(), sink.scope[w.GetName()], sc)
			}
		}
	}
	if n != 3 {
		t.Fatalf("core exported %d spans, want 3", n)
	}
	if got := sink.spans["b"].GetStatus().GetCode(); got != tracepb.Status_STATUS_CODE_ERROR {
		t.Fatalf("open span status %v", got)
	}
	if got := sink.spans["a"]; got.GetDroppedAttributesCount() != 1 || got.GetDroppedEventsCount() != 1 {
		t.Fatalf("dropped counts %d %d", got.GetDroppedAttributesCount(), got.GetDroppedEventsCount())
	}
}
