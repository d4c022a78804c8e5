package ptelsdk_test

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"github.com/ptel-dev/ptel/bindings/go/ptelsdk"
)

// invokeMetrics runs one invocation whose plugin records every metric type.
func invokeMetrics(t *testing.T, f *fixture, scale int64) {
	t.Helper()
	_, inv := f.begin(t, bg)
	rec := f.recorder(t, inv)
	email := ptel.String("pii.kind", "email")
	rec.Int64Counter("pii.detections", ptel.WithUnit("{detection}"),
		ptel.WithDescription("detections")).Add(bg, 2*scale, email)
	rec.Float64Counter("pii.bytes").Add(bg, 0.5*float64(scale))
	rec.Int64UpDownCounter("pii.inflight", ptel.WithUnit("{request}")).Add(bg, scale)
	rec.Int64Gauge("pii.buffer.size", ptel.WithUnit("By")).Record(bg, 128*scale)
	rec.Float64Gauge("pii.ratio").Record(bg, 0.25*float64(scale), email)
	h := rec.Float64Histogram("pii.scan.duration", ptel.WithUnit("ms"))
	h.Record(bg, 1.5)
	h.Record(bg, 7*float64(scale))
	rec.Int64Histogram("pii.size", ptel.WithBounds(10, 100)).Record(bg, 50)
	f.clock.Advance(100)
	if _, err := inv.End(finish(t, rec), ptel.OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
}

var defaultBounds = []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}

func collect(t *testing.T, f *fixture) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(bg, &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// Every metric type reaches the host's reader under the MeterProvider's
// resource, in the plugin's scope, with every field: cumulative over two
// invocations here. A gauge is the last point added, with its own time
// (the second plugin's finish) and no start time.
func TestMetricsCumulative(t *testing.T) {
	f := newFixture(t, sdktrace.AlwaysSample(), nil)
	invokeMetrics(t, f, 1)
	invokeMetrics(t, f, 2)
	f.clock.Set(1000)
	rm := collect(t, f)
	start, now := at(0), at(1000)
	email := attribute.NewSet(attribute.String("pii.kind", "email"))
	none := attribute.NewSet()
	hist := func(count uint64, buckets []uint64, sum, lo, hi float64) metricdata.HistogramDataPoint[float64] {
		return metricdata.HistogramDataPoint[float64]{Attributes: none, StartTime: start, Time: now,
			Count: count, Bounds: defaultBounds, BucketCounts: buckets, Sum: sum,
			Min: metricdata.NewExtrema(lo), Max: metricdata.NewExtrema(hi)}
	}
	durBuckets := make([]uint64, 16)
	durBuckets[1], durBuckets[2], durBuckets[3] = 2, 1, 1 // 1.5, 1.5 | 7 | 14
	want := metricdata.ResourceMetrics{Resource: f.res, ScopeMetrics: []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: "pii_filter", Version: "1.0.0"},
		Metrics: []metricdata.Metrics{
			{Name: "pii.detections", Description: "detections", Unit: "{detection}",
				Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
					DataPoints: []metricdata.DataPoint[int64]{{Attributes: email, StartTime: start, Time: now, Value: 6}}}},
			{Name: "pii.bytes",
				Data: metricdata.Sum[float64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
					DataPoints: []metricdata.DataPoint[float64]{{Attributes: none, StartTime: start, Time: now, Value: 1.5}}}},
			{Name: "pii.inflight", Unit: "{request}",
				Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality,
					DataPoints: []metricdata.DataPoint[int64]{{Attributes: none, StartTime: start, Time: now, Value: 3}}}},
			{Name: "pii.buffer.size", Unit: "By",
				Data: metricdata.Gauge[int64]{
					DataPoints: []metricdata.DataPoint[int64]{{Attributes: none, Time: at(200), Value: 256}}}},
			{Name: "pii.ratio",
				Data: metricdata.Gauge[float64]{
					DataPoints: []metricdata.DataPoint[float64]{{Attributes: email, Time: at(200), Value: 0.5}}}},
			{Name: "pii.scan.duration", Unit: "ms",
				Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality,
					DataPoints: []metricdata.HistogramDataPoint[float64]{hist(4, durBuckets, 24, 1.5, 14)}}},
			{Name: "pii.size",
				Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality,
					DataPoints: []metricdata.HistogramDataPoint[float64]{{Attributes: none, StartTime: start,
						Time: now, Count: 2, Bounds: []float64{10, 100}, BucketCounts: []uint64{0, 2, 0}, Sum: 100,
						Min: metricdata.NewExtrema(50.0), Max: metricdata.NewExtrema(50.0)}}}},
		},
	}}}
	metricdatatest.AssertEqual(t, want, rm)
}

// With delta temporality, counters and histograms report the change since
// the previous collection; up-down counters stay cumulative; gauges report
// their last value.
func TestMetricsDelta(t *testing.T) {
	f := newFixture(t, sdktrace.AlwaysSample(), &ptelsdk.MetricProducerOptions{Temporality: ptel.TemporalityDelta})
	invokeMetrics(t, f, 1)
	f.clock.Set(1000)
	collect(t, f)
	invokeMetrics(t, f, 2)
	f.clock.Set(2000)
	rm := collect(t, f)
	if len(rm.ScopeMetrics) != 1 {
		t.Fatalf("%d scopes", len(rm.ScopeMetrics))
	}
	byName := map[string]metricdata.Aggregation{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		byName[m.Name] = m.Data
	}
	email := attribute.NewSet(attribute.String("pii.kind", "email"))
	metricdatatest.AssertAggregationsEqual(t, metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality,
		IsMonotonic: true, DataPoints: []metricdata.DataPoint[int64]{{Attributes: email, StartTime: at(1000),
			Time: at(2000), Value: 4}}}, byName["pii.detections"])
	metricdatatest.AssertAggregationsEqual(t, metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality,
		DataPoints: []metricdata.DataPoint[int64]{{Attributes: attribute.NewSet(), StartTime: at(0),
			Time: at(2000), Value: 3}}}, byName["pii.inflight"])
	h, ok := byName["pii.scan.duration"].(metricdata.Histogram[float64])
	if !ok || h.Temporality != metricdata.DeltaTemporality || h.DataPoints[0].Count != 2 ||
		h.DataPoints[0].Sum != 15.5 {
		t.Fatalf("histogram %+v", byName["pii.scan.duration"])
	}
}

func TestMetricProducerOptions(t *testing.T) {
	if _, err := ptelsdk.NewMetricProducer(&ptelsdk.MetricProducerOptions{Temporality: 7}); err == nil {
		t.Fatal("an unknown temporality was accepted")
	}
	p, err := ptelsdk.NewMetricProducer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if sm, err := p.Produce(bg); err != nil || len(sm) != 0 {
		t.Fatalf("empty producer: %v %v", sm, err)
	}
	p.Close()
	if _, err := p.Produce(bg); err == nil {
		t.Fatal("Produce after Close succeeded")
	}
}
