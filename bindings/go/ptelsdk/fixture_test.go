package ptelsdk_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"github.com/ptel-dev/ptel/bindings/go/ptelsdk"
)

var bg = context.Background()

// realtime at the manual clock's monotonic zero
const t0 = uint64(1_700_000_000_000_000_000)

func at(mono uint64) time.Time { return time.Unix(0, int64(t0+mono)) }

// seqIDs numbers span ids from a base, for plugin spans the test can name.
type seqIDs struct{ next uint64 }

func (g *seqIDs) NewSpanID() (id trace.SpanID) {
	g.next++
	binary.BigEndian.PutUint64(id[:], 0xa000+g.next)
	return id
}

func sid(n uint64) (id trace.SpanID) {
	binary.BigEndian.PutUint64(id[:], 0xa000+n)
	return id
}

// collector is a span processor that keeps every ended span, sampled or
// not (the SDK's own processors skip unsampled ones).
type collector struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (c *collector) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *collector) OnEnd(s sdktrace.ReadOnlySpan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, s)
}
func (c *collector) Shutdown(context.Context) error   { return nil }
func (c *collector) ForceFlush(context.Context) error { return nil }

func (c *collector) stubs() tracetest.SpanStubs {
	c.mu.Lock()
	defer c.mu.Unlock()
	return tracetest.SpanStubsFromReadOnlySpans(c.spans)
}

type fixture struct {
	res     *resource.Resource
	tp      *sdktrace.TracerProvider
	all     *collector
	mem     *tracetest.InMemoryExporter
	reader  *sdkmetric.ManualReader
	metrics *ptelsdk.MetricProducer
	host    *ptelsdk.Host
	clock   *ptel.ManualClock
}

func newFixture(t *testing.T, sampler sdktrace.Sampler, mopts *ptelsdk.MetricProducerOptions) *fixture {
	t.Helper()
	f := &fixture{all: &collector{}, mem: tracetest.NewInMemoryExporter(), clock: ptel.NewManualClock(t0)}
	f.res = resource.NewSchemaless(attribute.String("service.name", "gateway"),
		attribute.String("deployment.environment.name", "test"))
	spans := ptelsdk.NewSpanProcessor(f.all, sdktrace.NewSimpleSpanProcessor(f.mem))
	f.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(f.res), sdktrace.WithSampler(sampler),
		sdktrace.WithSpanProcessor(spans))
	if mopts == nil {
		mopts = &ptelsdk.MetricProducerOptions{}
	}
	mopts.Clock = f.clock
	var err error
	f.metrics, err = ptelsdk.NewMetricProducer(mopts)
	if err != nil {
		t.Fatal(err)
	}
	f.reader = sdkmetric.NewManualReader(sdkmetric.WithProducer(f.metrics))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(f.res), sdkmetric.WithReader(f.reader))
	f.host = ptelsdk.NewHost(f.tp, spans, f.metrics)
	t.Cleanup(func() {
		_ = f.tp.Shutdown(bg)
		_ = mp.Shutdown(bg)
		f.metrics.Close()
	})
	return f
}

// begin opens an invocation under a host request span at the clock's now.
func (f *fixture) begin(t *testing.T, ctx context.Context) (context.Context, *ptelsdk.Invocation) {
	t.Helper()
	ctx, inv, err := f.host.Begin(ctx, &ptel.InvocationOptions{PluginName: "pii_filter",
		PluginVersion: "1.0.0", Hook: "tool_pre_invoke", Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inv.Close)
	return ctx, inv
}

// recorder is the plugin side, in process, under the invocation's context.
func (f *fixture) recorder(t *testing.T, inv *ptelsdk.Invocation) *ptel.Recorder {
	t.Helper()
	pc, err := inv.Context()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ptel.NewRecorder(pc, &ptel.RecorderOptions{Clock: f.clock, IDs: &seqIDs{}, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	return rec
}

func finish(t *testing.T, rec *ptel.Recorder) []byte {
	t.Helper()
	if err := rec.Err(); err != nil {
		t.Fatalf("recorder: %v", err)
	}
	b, err := rec.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
