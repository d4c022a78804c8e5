package ptel_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	ptel "github.com/ptel-dev/ptel/bindings/go"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// The recordings of core/tests/test_golden.c, made through the Go API with
// the same fake clock (base 1e12 ns, monotonic set by the test) and id
// generator (zero bytes ending in a counter), must give the same bytes as
// the C run pinned in core/tests/golden/.

const fxTimeBase = 1_000_000_000_000

var (
	fxTraceID = mustTraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	fxSpanID  = mustSpanID("00f067aa0ba902b7")
)

func mustTraceID(s string) (id trace.TraceID) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		panic(s)
	}
	copy(id[:], b)
	return id
}

func mustSpanID(s string) (id trace.SpanID) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8 {
		panic(s)
	}
	copy(id[:], b)
	return id
}

// counterIDs is the fixture's id generator: zeros ending in a counter byte.
type counterIDs struct{ next byte }

func (c *counterIDs) NewSpanID() (id trace.SpanID) {
	c.next++
	id[7] = c.next
	return id
}

func fxFields(decision ptel.Decision) ptel.ContextFields {
	f := ptel.ContextFields{
		TraceID:    fxTraceID,
		SpanID:     fxSpanID,
		Remote:     true,
		Decision:   decision,
		TimeBase:   fxTimeBase,
		PluginName: "pii_filter",
	}
	if decision == ptel.DecisionRecordAndSample {
		f.TraceFlags = 1
	}
	return f
}

type fixture struct {
	t     testing.TB
	ctx   *ptel.Context
	clock *ptel.ManualClock
	rec   *ptel.Recorder
}

func newFixture(t testing.TB, decision ptel.Decision, strict bool) *fixture {
	t.Helper()
	c, err := ptel.NewContext(fxFields(decision))
	if err != nil {
		t.Fatal(err)
	}
	clk := ptel.NewManualClock(fxTimeBase)
	rec, err := ptel.NewRecorder(c, &ptel.RecorderOptions{Clock: clk, IDs: &counterIDs{}, Strict: strict})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	return &fixture{t: t, ctx: c, clock: clk, rec: rec}
}

func (f *fixture) finish() []byte {
	f.t.Helper()
	out, err := f.rec.Finish()
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func goldenSpanSimple(f *fixture) {
	_, s := f.rec.Start(context.Background(), "handle", ptel.WithSpanKind(ptel.SpanKindInternal))
	s.SetAttributes(ptel.Int("n", 0))
	s.SetStatus(ptel.StatusError, "boom")
	f.clock.Set(1000)
	s.End()
}

func goldenAttributeTypes(f *fixture) {
	_, s := f.rec.Start(context.Background(), "types", ptel.WithSpanKind(ptel.SpanKindClient))
	s.SetAttributes(
		ptel.String("s", "text"),
		ptel.String("empty", ""),
		ptel.Int("zero", 0),
		ptel.Int64("neg", -5),
		ptel.Int64("max", math.MaxInt64),
		ptel.Bool("b", false),
		ptel.Bytes("bytes", []byte{0x00, 0x01, 0xfe}),
		ptel.Slice("arr", ptel.StringValue("caf\xc3\xa9"), ptel.Float64Value(math.Float64frombits(0x7ff8000000000000)), // C's NAN
			ptel.Float64Value(math.Inf(-1)), ptel.Int64Value(math.MinInt64)),
		ptel.Map("map", ptel.String("k", ""), ptel.Int("z", 0)),
	)
	s.SetAttributes(ptel.Float64("d", math.Copysign(0, -1)))
	s.End()
}

func goldenEventsLinks(f *fixture) {
	ctx, outer := f.rec.Start(context.Background(), "outer", ptel.WithSpanKind(ptel.SpanKindServer))
	f.clock.Set(10)
	_, inner := f.rec.Start(ctx, "inner", ptel.WithSpanKind(ptel.SpanKindProducer))
	ea := []ptel.KeyValue{ptel.String("pii.type", "email"), ptel.Int("pii.offset", 8)}
	inner.AddEvent("pii.detected", ea...)
	inner.RecordException("TimeoutError", "upstream slow", "at fetch()\nat main()")
	ts, err := trace.ParseTraceState("vendor=x")
	if err != nil {
		panic(err)
	}
	var tid trace.TraceID
	var sid trace.SpanID
	tid[0], tid[1] = 0xaa, 1
	sid[0], sid[1] = 0xbb, 2
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: 1, TraceState: ts, Remote: true})
	inner.AddLink(ptel.Link{SpanContext: linked, Attributes: ea[:1]})
	f.clock.Set(20)
	inner.End()
	outer.SetStatus(ptel.StatusOK, "")
	f.clock.Set(30)
	outer.End()
	f.rec.Start(context.Background(), "left.open", ptel.WithSpanKind(ptel.SpanKindConsumer))
}

func goldenMetrics(f *fixture) {
	ctx, s := f.rec.Start(context.Background(), "scan")
	r := f.rec
	c := r.Int64Counter("pii.detections", ptel.WithUnit("{detection}"), ptel.WithDescription("detections by type"))
	u := r.Float64UpDownCounter("queue.depth", ptel.WithUnit("{item}"))
	g := r.Int64Gauge("limit.remaining", ptel.WithUnit("{request}"))
	h := r.Float64Histogram("scan.duration", ptel.WithUnit("s"), ptel.WithDescription("scan time"),
		ptel.WithBounds(0.001, 0.01, 0.1))
	hd := r.Int64Histogram("payload.size", ptel.WithUnit("By"))
	email, phone := ptel.String("pii.type", "email"), ptel.String("pii.type", "phone")
	bg := context.Background()
	c.Add(ctx, 2, email)
	c.Add(bg, 1, phone)
	c.Add(bg, 0, email)
	u.Add(bg, 3.5)
	u.Add(bg, -1.25)
	g.Record(bg, 0)
	h.Record(ctx, 0.004, email)
	h.Record(bg, 0.5, email)
	h.Record(bg, 0.0, phone)
	hd.Record(bg, 1234)
	hd.Record(bg, -3)
	f.clock.Set(500)
	s.End()
}

func goldenLimits(f *fixture) {
	_, s := f.rec.Start(context.Background(), "flood")
	attrs := make([]ptel.KeyValue, 200)
	for k := range attrs {
		attrs[k] = ptel.Int(fmt.Sprintf("k%03d", k), k)
	}
	s.SetAttributes(attrs...)
	for k := 0; k < 130; k++ {
		s.AddEvent("e")
	}
	s.SetAttributes(ptel.String("k000", strings.Repeat("x", 4999)))
	s.End()
}

func goldenDropped(f *fixture) {
	ctx, s := f.rec.Start(context.Background(), "never")
	s.End()
	c := f.rec.Float64Counter("requests", ptel.WithUnit("{request}"))
	c.Add(ctx, 1)
}

var goldenCases = []struct {
	name     string
	fn       func(*fixture)
	decision ptel.Decision
}{
	{"tel_span_simple", goldenSpanSimple, ptel.DecisionRecordAndSample},
	{"tel_attribute_types", goldenAttributeTypes, ptel.DecisionRecordAndSample},
	{"tel_events_links", goldenEventsLinks, ptel.DecisionRecordAndSample},
	{"tel_metrics", goldenMetrics, ptel.DecisionRecordAndSample},
	{"tel_limits", goldenLimits, ptel.DecisionRecordOnly},
	{"tel_dropped", goldenDropped, ptel.DecisionDrop},
}

func goldenPath(name string) string {
	return filepath.Join("..", "..", "core", "tests", "golden", name+".bin")
}

func TestGoldenPayloadsMatchC(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			want, err := os.ReadFile(goldenPath(gc.name))
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, gc.decision, false)
			gc.fn(f)
			got := f.finish()
			if !bytes.Equal(got, want) {
				t.Fatalf("payload differs from the C run\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestGoldenContextMatchesC(t *testing.T) {
	want, err := os.ReadFile(goldenPath("ctx_full"))
	if err != nil {
		t.Fatal(err)
	}
	f := fxFields(ptel.DecisionRecordAndSample)
	f.Limits.AttributeCount = 64
	f.Limits.PayloadBytes = 1 << 20
	f.TraceState = "vendor=abc,ot=th:8"
	f.Baggage = "tenant=acme,user.id=42;pii"
	f.PluginVersion = "1.2.0"
	f.Hook = "tool_pre_invoke"
	f.Features = ptel.FeaturesV1
	c, err := ptel.NewContext(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("context differs from the C run\n got %x\nwant %x", got, want)
	}
	back, err := ptel.DecodeContext(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Fields() != c.Fields() {
		t.Fatalf("decode(encode) = %+v, want %+v", back.Fields(), c.Fields())
	}
}
