package ptel_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestExporterDefaults(t *testing.T) {
	o := ptel.DefaultExporterOptions()
	eq(t, "kind", o.Kind, ptel.ExporterJSONL)
	eq(t, "endpoint", o.Endpoint, "http://localhost:4318")
	eq(t, "timeout", o.Timeout, 10*time.Second)
	eq(t, "metric interval", o.MetricInterval, time.Minute)
	eq(t, "self telemetry", o.SelfTelemetry, true)
	eq(t, "invocation span", o.IncludeInvocationSpan, true)
	eq(t, "queue bytes", o.MaxQueueBytes, uint32(8<<20))
	eq(t, "queue requests", o.MaxQueueRequests, uint32(2048))
	eq(t, "batch bytes", o.MaxBatchBytes, uint32(1<<20))
	eq(t, "delay", o.ScheduleDelay, time.Second)
	eq(t, "retry", o.RetryInitial.String()+" "+o.RetryMax.String()+" "+o.RetryMaxElapsed.String(), "1s 30s 1m0s")
	eq(t, "fd", o.FD, 1)
	eq(t, "temporality", o.Temporality, ptel.PreferCumulative)
	eq(t, "drop name", ptel.DropQueueFull.String(), "queue_full")
	eq(t, "drop name", ptel.DropRetries.String(), "retries_exhausted")
	eq(t, "unknown drop", ptel.ExportDrop(99).String(), "unknown")
}

func TestExporterOptionsFromEnv(t *testing.T) {
	o, err := ptel.ExporterOptionsFromEnv(lookupMap(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":                       "http://collector:4318",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT":               "http://metrics:9/m",
		"OTEL_EXPORTER_OTLP_HEADERS":                        "a=b,c=d%20e",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS":                 "x=y",
		"OTEL_EXPORTER_OTLP_TIMEOUT":                        "2500",
		"OTEL_EXPORTER_OTLP_COMPRESSION":                    "gzip",
		"OTEL_SERVICE_NAME":                                 "gateway",
		"OTEL_RESOURCE_ATTRIBUTES":                          "deployment.environment.name=test",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Delta",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":                "",
	}))
	mustNoErr(t, err)
	eq(t, "kind", o.Kind, ptel.ExporterOTLPHTTP)
	eq(t, "endpoint", o.Endpoint, "http://collector:4318")
	eq(t, "traces endpoint", o.TracesEndpoint, "")
	eq(t, "metrics endpoint", o.MetricsEndpoint, "http://metrics:9/m")
	eq(t, "headers", o.Headers+"|"+o.TracesHeaders+"|"+o.MetricsHeaders, "a=b,c=d%20e|x=y|")
	eq(t, "timeout", o.Timeout, 2500*time.Millisecond)
	eq(t, "compression", o.Compression, ptel.CompressionGzip)
	eq(t, "service", o.ServiceName, "gateway")
	eq(t, "resource", o.ResourceAttributes, "deployment.environment.name=test")
	eq(t, "temporality", o.Temporality, ptel.PreferDelta)

	// A bad variable is ignored and named; the others still apply.
	o, err = ptel.ExporterOptionsFromEnv(lookupMap(map[string]string{
		"OTEL_EXPORTER_OTLP_TIMEOUT": "soon", "OTEL_SERVICE_NAME": "svc",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}))
	var pe *ptel.Error
	if !errors.As(err, &pe) || pe.Code != ptel.ErrValue || !strings.HasPrefix(pe.Reason, "OTEL_EXPORTER_OTLP_TIMEOUT: ") {
		t.Fatalf("bad timeout: %v", err)
	}
	eq(t, "timeout kept", o.Timeout, 10*time.Second)
	eq(t, "compression kept", o.Compression, ptel.CompressionNone)
	eq(t, "service applied", o.ServiceName, "svc")

	o, err = ptel.ExporterOptionsFromEnv(lookupMap(map[string]string{"OTEL_SDK_DISABLED": "TRUE",
		"OTEL_SERVICE_NAME": "a\x00b"}))
	mustNoErr(t, err)
	eq(t, "disabled", o.Kind, ptel.ExporterNone)
	eq(t, "NUL value is unset", o.ServiceName, "")

	t.Setenv("OTEL_SERVICE_NAME", "from-process")
	o, err = ptel.ExporterOptionsFromEnv(nil)
	mustNoErr(t, err)
	eq(t, "process env", o.ServiceName, "from-process")
}

// endedInvocation runs the package's end-to-end plugin under a fresh
// invocation and ends it.
func endedInvocation(t *testing.T, clock *ptel.ManualClock) *ptel.Invocation {
	t.Helper()
	inv := beginFx(t, clock, nil)
	payload := pluginRun(t, inv, clock)
	clock.Advance(50)
	_, err := inv.End(payload, ptel.OutcomeOK, "")
	mustNoErr(t, err)
	return inv
}

func memoryExporter(t *testing.T, clock *ptel.ManualClock) *ptel.Exporter {
	t.Helper()
	o := ptel.DefaultExporterOptions()
	o.Kind, o.ServiceName, o.Clock = ptel.ExporterMemory, "gateway", clock
	x, err := ptel.NewExporter(&o)
	mustNoErr(t, err)
	t.Cleanup(x.Close)
	return x
}

func TestExporterMemory(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	x := memoryExporter(t, clock)
	inv := beginFx(t, clock, nil)
	if err := x.Submit(inv); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("submit before End: %v", err)
	}
	payload := pluginRun(t, inv, clock)
	_, err := inv.End(payload, ptel.OutcomeOK, "")
	mustNoErr(t, err)
	mustNoErr(t, x.Submit(inv))
	mustNoErr(t, x.Flush(context.Background()))

	traces := x.MemoryRequests(ptel.SignalTraces)
	eq(t, "trace requests", len(traces), 1)
	want, err := inv.ExportTraces(&ptel.ExportOptions{Resource: []ptel.KeyValue{ptel.String("service.name", "gateway")}})
	mustNoErr(t, err)
	got := decodeTraces(t, traces[0])
	if !proto.Equal(got.ResourceSpans[0].ScopeSpans[0], decodeTraces(t, want).ResourceSpans[0].ScopeSpans[0]) ||
		!proto.Equal(got.ResourceSpans[0].ScopeSpans[1], decodeTraces(t, want).ResourceSpans[0].ScopeSpans[1]) {
		t.Fatalf("exported spans differ from the invocation's")
	}
	svc := attrMap(got.ResourceSpans[0].Resource.Attributes)["service.name"].GetStringValue()
	eq(t, "service.name", svc, "gateway")

	metrics := x.MemoryRequests(ptel.SignalMetrics)
	eq(t, "metric requests", len(metrics), 1)
	var mr collmetricpb.ExportMetricsServiceRequest
	mustNoErr(t, proto.Unmarshal(metrics[0], &mr))
	names := map[string]bool{}
	for _, rm := range mr.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				names[sm.Scope.GetName()+"/"+m.Name] = true
			}
		}
	}
	for _, n := range []string{"pii/detections", "ptel/ptel.host.invocations", "ptel/ptel.host.spans.accepted"} {
		if !names[n] {
			t.Errorf("metric %s missing from %v", n, names)
		}
	}

	st := x.Stats()
	eq(t, "invocations", st.Invocations, 1)
	eq(t, "spans submitted", st.Traces.ItemsSubmitted, 2)
	eq(t, "spans sent", st.Traces.ItemsSent, 2)
	eq(t, "spans dropped", st.Traces.Dropped(), 0)
	eq(t, "trace requests submitted", st.Traces.RequestsSubmitted, 1)
	var js map[string]any
	mustNoErr(t, json.Unmarshal([]byte(st.JSON()), &js))
	eq(t, "stats JSON invocations", js["invocations"], any(float64(1)))

	x.ClearMemory()
	eq(t, "cleared", len(x.MemoryRequests(ptel.SignalTraces)), 0)
	mustNoErr(t, x.Shutdown(context.Background()))
	if err := x.Submit(inv); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("submit after Shutdown: %v", err)
	}
	if err := x.Shutdown(context.Background()); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("second Shutdown: %v", err)
	}
	eq(t, "stats after shutdown", x.Stats().Invocations, 1)
}

func TestExporterSubmitRequests(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	x := memoryExporter(t, clock)
	inv := endedInvocation(t, clock)
	req, err := inv.ExportTraces(nil)
	mustNoErr(t, err)
	mustNoErr(t, x.SubmitTraces(req))
	mustNoErr(t, x.SubmitTraces(nil)) // empty: nothing to do
	mreq, err := inv.ExportMetrics(nil)
	mustNoErr(t, err)
	mustNoErr(t, x.SubmitMetrics(mreq))
	eq(t, "traces kept", len(x.MemoryRequests(ptel.SignalTraces)), 1)
	if !bytesEqual(x.MemoryRequests(ptel.SignalTraces)[0], req) {
		t.Fatal("a submitted request was not kept as it is")
	}
	eq(t, "points submitted", x.Stats().Metrics.ItemsSubmitted, 1)
	for _, bad := range [][]byte{{0x0a, 0x05, 0x12}, {0x0a}, {0xff, 0xff}} {
		err := x.SubmitTraces(bad)
		if !errors.Is(err, ptel.ErrMalformed) && !errors.Is(err, ptel.ErrTruncated) {
			t.Errorf("malformed %x: %v", bad, err)
		}
		err = x.SubmitMetrics(bad)
		if !errors.Is(err, ptel.ErrMalformed) && !errors.Is(err, ptel.ErrTruncated) {
			t.Errorf("malformed metrics %x: %v", bad, err)
		}
	}
	eq(t, "malformed counted nowhere", x.Stats().Traces.RequestsSubmitted, 1)
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func TestExporterJSONLines(t *testing.T) {
	clock := ptel.NewManualClock(fxTimeBase)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	o := ptel.DefaultExporterOptions()
	o.Path, o.Clock, o.SelfTelemetry = path, clock, false
	x, err := ptel.NewExporter(&o)
	mustNoErr(t, err)
	defer x.Close()
	mustNoErr(t, x.Submit(endedInvocation(t, clock)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mustNoErr(t, x.Shutdown(ctx))
	f, err := os.Open(path)
	mustNoErr(t, err)
	defer f.Close()
	var kinds []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]json.RawMessage
		mustNoErr(t, json.Unmarshal(sc.Bytes(), &line))
		for k := range line {
			kinds = append(kinds, k)
		}
	}
	eq(t, "lines", strings.Join(kinds, ","), "resourceSpans,resourceMetrics")
	st := x.Stats()
	eq(t, "sent", st.Traces.ItemsSent, 2)
	eq(t, "points sent", st.Metrics.ItemsSent, 1)
}

func TestExporterInvalid(t *testing.T) {
	o := ptel.DefaultExporterOptions()
	o.Path = "a\x00b"
	if _, err := ptel.NewExporter(&o); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("NUL path: %v", err)
	}
	o = ptel.DefaultExporterOptions()
	o.Kind = 99
	if _, err := ptel.NewExporter(&o); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("bad kind: %v", err)
	}
	o = ptel.DefaultExporterOptions()
	o.Path = filepath.Join(t.TempDir(), "missing", "dir", "x.jsonl")
	if _, err := ptel.NewExporter(&o); !errors.Is(err, ptel.ErrIO) {
		t.Fatalf("unopenable path: %v", err)
	}
	o = ptel.DefaultExporterOptions()
	o.Kind, o.Endpoint = ptel.ExporterOTLPHTTP, "ftp://x"
	if _, err := ptel.NewExporter(&o); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("bad endpoint: %v", err)
	}
	var nilx *ptel.Exporter
	if err := nilx.Flush(context.Background()); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil Flush: %v", err)
	}
	nilx.Close()
	eq(t, "nil stats", nilx.Stats().Invocations, 0)

	x, err := ptel.NewExporter(&ptel.ExporterOptions{Kind: ptel.ExporterNone})
	mustNoErr(t, err)
	x.Close()
	x.Close()
	if err := x.Submit(nil); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("Submit after Close: %v", err)
	}
	if err := x.SubmitTraces([]byte{1}); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("SubmitTraces after Close: %v", err)
	}
	eq(t, "memory after close", len(x.MemoryRequests(ptel.SignalTraces)), 0)
}

// OTLP/HTTP against a local endpoint (libcurl is loaded at run time).
func TestExporterOTLPHTTP(t *testing.T) {
	var mu sync.Mutex
	var spans int
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.Path+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Key"))
		if r.URL.Path == "/v1/traces" {
			var req colltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(b, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for _, rs := range req.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					spans += len(ss.Spans)
				}
			}
		}
	}))
	defer srv.Close()
	o, err := ptel.ExporterOptionsFromEnv(lookupMap(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_EXPORTER_OTLP_HEADERS": "x-key=secret"}))
	mustNoErr(t, err)
	o.SelfTelemetry = false
	x, err := ptel.NewExporter(&o)
	if errors.Is(err, ptel.ErrUnsupported) {
		t.Skipf("libcurl is not installed: %v", err)
	}
	mustNoErr(t, err)
	defer x.Close()
	clock := ptel.NewManualClock(fxTimeBase)
	mustNoErr(t, x.Submit(endedInvocation(t, clock)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mustNoErr(t, x.Shutdown(ctx))
	mu.Lock()
	defer mu.Unlock()
	eq(t, "spans received", spans, 2)
	eq(t, "requests", strings.Join(paths, ","),
		"/v1/traces application/x-protobuf secret,/v1/metrics application/x-protobuf secret")
	st := x.Stats()
	eq(t, "sent", st.Traces.ItemsSent, 2)
	eq(t, "exports ok", st.Traces.ExportsOK, 1)
	eq(t, "http status", st.LastHTTPStatus, 200)
}
