package ptel_test

import (
	"errors"
	"math"
	"testing"

	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

func TestEveryInstrumentDecodedWithOTLPTypes(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	r := f.rec
	ctx, s := r.Start(bg, "s")
	a := ptel.String("k", "a")
	r.Int64Counter("ic", ptel.WithUnit("{x}"), ptel.WithDescription("int counter")).Add(ctx, 5, a)
	r.Float64Counter("fc").Add(bg, 1.5)
	r.Int64UpDownCounter("iu").Add(bg, -3)
	r.Float64UpDownCounter("fu").Add(bg, -0.5)
	r.Int64Gauge("ig").Record(bg, 9)
	r.Float64Gauge("fg").Record(bg, math.Inf(1))
	r.Int64Histogram("ih", ptel.WithBounds(10)).Record(bg, 3)
	h := r.Float64Histogram("fh", ptel.WithBounds())
	h.Record(bg, 2.5)
	h.Record(bg, -1)
	r.Float64Histogram("dh").Record(bg, 7)
	// Asking again returns the same instrument (names compare
	// case-insensitively).
	r.Int64Counter("IC", ptel.WithUnit("{x}"), ptel.WithDescription("int counter")).Add(bg, 1, a)
	f.clock.Set(40)
	s.End()
	tel := decodeTelemetry(t, f.finish())
	eq(t, "metrics", len(tel.Metrics), 9)
	eq(t, "drops", tel.Dropped, ptel.DropCounts{})

	ic := tel.metric(t, "ic")
	eq(t, "unit", ic.Unit, "{x}")
	eq(t, "description", ic.Description, "int counter")
	sum := ic.GetSum()
	eq(t, "monotonic", sum.IsMonotonic, true)
	eq(t, "temporality", sum.AggregationTemporality, metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA)
	p := sum.DataPoints[0]
	eq(t, "ic value", p.GetAsInt(), 6)
	eq(t, "ic start", p.StartTimeUnixNano, fxTimeBase)
	eq(t, "ic time", p.TimeUnixNano, fxTimeBase+40)
	sameKeyValues(t, "ic attributes", p.Attributes, keyValues(a))
	eq(t, "exemplars", len(p.Exemplars), 1)
	eqBytes(t, "exemplar span", p.Exemplars[0].SpanId, id8(1))
	eqBytes(t, "exemplar trace", p.Exemplars[0].TraceId, fxTraceID[:])
	eq(t, "exemplar value", p.Exemplars[0].GetAsInt(), 5)

	eq(t, "fc", tel.metric(t, "fc").GetSum().DataPoints[0].GetAsDouble(), 1.5)
	iu := tel.metric(t, "iu").GetSum()
	eq(t, "iu monotonic", iu.IsMonotonic, false)
	eq(t, "iu", iu.DataPoints[0].GetAsInt(), -3)
	eq(t, "fu", tel.metric(t, "fu").GetSum().DataPoints[0].GetAsDouble(), -0.5)
	eq(t, "ig", tel.metric(t, "ig").GetGauge().DataPoints[0].GetAsInt(), 9)
	eq(t, "fg", math.IsInf(tel.metric(t, "fg").GetGauge().DataPoints[0].GetAsDouble(), 1), true)
	ih := tel.metric(t, "ih").GetHistogram().DataPoints[0]
	eq(t, "ih bounds", len(ih.ExplicitBounds), 1)
	eq(t, "ih buckets", len(ih.BucketCounts), 2)
	eq(t, "ih bucket 0", ih.BucketCounts[0], 1)
	eq(t, "ih sum", ih.GetSum(), 3)
	fh := tel.metric(t, "fh").GetHistogram().DataPoints[0]
	eq(t, "fh bounds", len(fh.ExplicitBounds), 0)
	eq(t, "fh count", fh.Count, 2)
	eq(t, "fh min", fh.GetMin(), -1)
	eq(t, "fh max", fh.GetMax(), 2.5)
	if fh.Sum != nil {
		t.Fatal("histogram with a negative value must omit sum")
	}
	dh := tel.metric(t, "dh").GetHistogram().DataPoints[0]
	eq(t, "default bounds", len(dh.ExplicitBounds), 15)
}

func TestRefusedInstrumentsAndPoints(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordOnly, false)
	r := f.rec
	r.Int64Counter("1starts.with.digit").Add(bg, 1) // refused instrument: no-op
	r.Int64Counter("dup")
	r.Float64Gauge("dup").Record(bg, 1)                        // conflict
	r.Float64Histogram("bad.bounds", ptel.WithBounds(2, 1))    // not increasing
	r.Int64Counter("neg").Add(bg, -1)                          // refused point
	r.Float64Counter("nan").Add(bg, math.NaN())                // refused point
	r.Int64Counter("badattr").Add(bg, 1, ptel.String("", "x")) // refused point
	r.Int64Counter("unit", ptel.WithUnit("é")).Add(bg, 1)      // refused instrument
	ctx, s := r.Start(bg, "unsampled")
	r.Int64Counter("ok").Add(ctx, 2)
	s.End()
	tel := decodeTelemetry(t, f.finish())
	eq(t, "dropped metrics", tel.Dropped.Metrics, 4)
	eq(t, "dropped points", tel.Dropped.MetricPoints, 3)
	// No exemplar: the span is not sampled under RECORD_ONLY.
	eq(t, "exemplars", len(tel.metric(t, "ok").GetSum().DataPoints[0].Exemplars), 0)
	s2 := newFixture(t, ptel.DecisionRecordAndSample, true)
	s2.rec.Int64Counter("x")
	s2.rec.Float64Counter("x")
	if !errors.Is(s2.rec.Err(), ptel.ErrConflict) {
		t.Fatalf("Err() = %v, want ErrConflict", s2.rec.Err())
	}
}

func TestOneCrossingPerMeasurement(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	c := f.rec.Int64Counter("c")
	ctx, s := f.rec.Start(bg, "s")
	defer s.End()
	eq(t, "cgo calls per measurement", fewestCgoCalls(func() {
		c.Add(ctx, 1, ptel.String("a", "b"), ptel.Int("n", 1))
	}), 1)
}
