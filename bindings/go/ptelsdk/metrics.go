package ptelsdk

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	collmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

// MetricProducerOptions configure NewMetricProducer; nil means the defaults.
type MetricProducerOptions struct {
	// Temporality of counters and histograms: ptel.TemporalityCumulative
	// (0 = the default) or ptel.TemporalityDelta (the change since the
	// previous Produce; set it when the host's exporter prefers delta, as
	// the SDK's temporality selector does not reach producers).
	Temporality ptel.Temporality
	// Aggregator limits; zero = the core's defaults.
	CardinalityLimit uint32
	MetricLimit      uint32
	Clock            *ptel.ManualClock // nil = system clocks
}

// MetricProducer folds the validated metric deltas of every invocation into
// cumulative streams (the core's ptel.Aggregator) and hands them to the
// host's MeterProvider as an sdkmetric.Producer, registered on the host's
// reader:
//
//	metrics, _ := ptelsdk.NewMetricProducer(nil)
//	reader := sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithProducer(metrics))
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
//
// The reader puts the produced ScopeMetrics (one per plugin scope) under the
// MeterProvider's resource beside the host's own. Per metric type:
//
//   - counter: metricdata.Sum, IsMonotonic, of the options' temporality;
//   - up-down counter: metricdata.Sum, not monotonic, always cumulative (as
//     OTLP exporters that prefer delta still report up-down counters);
//   - gauge: metricdata.Gauge, the last value added;
//   - histogram: metricdata.Histogram[float64] (OTLP has only a double sum;
//     integer histograms too), with Min and Max.
//
// Integer and double sums and gauges keep their number type. Exemplars are
// not aggregated by the core and so never appear.
type MetricProducer struct {
	mu          sync.Mutex
	agg         *ptel.Aggregator
	temporality ptel.Temporality
}

var _ sdkmetric.Producer = (*MetricProducer)(nil)

// NewMetricProducer creates a producer with an empty aggregator.
func NewMetricProducer(opts *MetricProducerOptions) (*MetricProducer, error) {
	var o MetricProducerOptions
	if opts != nil {
		o = *opts
	}
	switch o.Temporality {
	case 0:
		o.Temporality = ptel.TemporalityCumulative
	case ptel.TemporalityCumulative, ptel.TemporalityDelta:
	default:
		return nil, &ptel.Error{Code: ptel.ErrInvalidArgument, Op: "new metric producer",
			Reason: "unknown temporality"}
	}
	agg, err := ptel.NewAggregator(&ptel.AggregatorOptions{CardinalityLimit: o.CardinalityLimit,
		MetricLimit: o.MetricLimit, Clock: o.Clock})
	if err != nil {
		return nil, err
	}
	return &MetricProducer{agg: agg, temporality: o.Temporality}, nil
}

// Add folds an ended invocation's accepted metrics into the streams.
func (p *MetricProducer) Add(inv *ptel.Invocation) error { return p.agg.Add(inv) }

// Stats returns the aggregator's counters.
func (p *MetricProducer) Stats() ptel.AggregatorStats { return p.agg.Stats() }

// Close releases the aggregator; Produce then fails with ptel.ErrState.
func (p *MetricProducer) Close() { p.agg.Close() }

// Produce returns the plugin metrics, one ScopeMetrics per plugin scope.
// Safe for concurrent use; concurrent delta exports are serialised so each
// change is reported once.
func (p *MetricProducer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	p.mu.Lock()
	b, err := p.agg.Export(nil, p.temporality)
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var req collmetricpb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("ptelsdk: decode aggregated metrics: %w", err)
	}
	var out []metricdata.ScopeMetrics
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			ms := make([]metricdata.Metrics, 0, len(sm.GetMetrics()))
			for _, m := range sm.GetMetrics() {
				if data := aggregation(m); data != nil {
					ms = append(ms, metricdata.Metrics{Name: m.GetName(),
						Description: m.GetDescription(), Unit: m.GetUnit(), Data: data})
				}
			}
			out = append(out, metricdata.ScopeMetrics{Scope: scopeOf(sm.GetScope(), sm.GetSchemaUrl()),
				Metrics: ms})
		}
	}
	return out, nil
}

func temporality(t metricpb.AggregationTemporality) metricdata.Temporality {
	if t == metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA {
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

// aggregation converts one metric; nil for a type outside ptel v1 (the core
// never exports one).
func aggregation(m *metricpb.Metric) metricdata.Aggregation {
	switch d := m.GetData().(type) {
	case *metricpb.Metric_Sum:
		t, mono := temporality(d.Sum.GetAggregationTemporality()), d.Sum.GetIsMonotonic()
		if isInt(d.Sum.GetDataPoints()) {
			return metricdata.Sum[int64]{DataPoints: points[int64](d.Sum.GetDataPoints()),
				Temporality: t, IsMonotonic: mono}
		}
		return metricdata.Sum[float64]{DataPoints: points[float64](d.Sum.GetDataPoints()),
			Temporality: t, IsMonotonic: mono}
	case *metricpb.Metric_Gauge:
		if isInt(d.Gauge.GetDataPoints()) {
			return metricdata.Gauge[int64]{DataPoints: points[int64](d.Gauge.GetDataPoints())}
		}
		return metricdata.Gauge[float64]{DataPoints: points[float64](d.Gauge.GetDataPoints())}
	case *metricpb.Metric_Histogram:
		return metricdata.Histogram[float64]{DataPoints: histogramPoints(d.Histogram.GetDataPoints()),
			Temporality: temporality(d.Histogram.GetAggregationTemporality())}
	}
	return nil
}

// isInt reports the number type of a metric's points (the host guarantees
// one type per metric).
func isInt(ps []*metricpb.NumberDataPoint) bool {
	if len(ps) == 0 {
		return false
	}
	_, ok := ps[0].GetValue().(*metricpb.NumberDataPoint_AsInt)
	return ok
}

func number[N int64 | float64](asInt int64, asDouble float64, isInt bool) N {
	if isInt {
		return N(asInt)
	}
	return N(asDouble)
}

func points[N int64 | float64](ps []*metricpb.NumberDataPoint) []metricdata.DataPoint[N] {
	out := make([]metricdata.DataPoint[N], len(ps))
	for k, p := range ps {
		_, i := p.GetValue().(*metricpb.NumberDataPoint_AsInt)
		out[k] = metricdata.DataPoint[N]{
			Attributes: attribute.NewSet(keyValues(p.GetAttributes())...),
			StartTime:  unixTime(p.GetStartTimeUnixNano()),
			Time:       unixTime(p.GetTimeUnixNano()),
			Value:      number[N](p.GetAsInt(), p.GetAsDouble(), i),
			Exemplars:  exemplars[N](p.GetExemplars()),
		}
	}
	return out
}

func histogramPoints(ps []*metricpb.HistogramDataPoint) []metricdata.HistogramDataPoint[float64] {
	out := make([]metricdata.HistogramDataPoint[float64], len(ps))
	for k, p := range ps {
		h := metricdata.HistogramDataPoint[float64]{
			Attributes:   attribute.NewSet(keyValues(p.GetAttributes())...),
			StartTime:    unixTime(p.GetStartTimeUnixNano()),
			Time:         unixTime(p.GetTimeUnixNano()),
			Count:        p.GetCount(),
			Bounds:       p.GetExplicitBounds(),
			BucketCounts: p.GetBucketCounts(),
			Sum:          p.GetSum(),
			Exemplars:    exemplars[float64](p.GetExemplars()),
		}
		if p.Min != nil {
			h.Min = metricdata.NewExtrema(p.GetMin())
		}
		if p.Max != nil {
			h.Max = metricdata.NewExtrema(p.GetMax())
		}
		out[k] = h
	}
	return out
}

func exemplars[N int64 | float64](es []*metricpb.Exemplar) []metricdata.Exemplar[N] {
	if len(es) == 0 {
		return nil
	}
	out := make([]metricdata.Exemplar[N], len(es))
	for k, e := range es {
		_, i := e.GetValue().(*metricpb.Exemplar_AsInt)
		out[k] = metricdata.Exemplar[N]{
			FilteredAttributes: keyValues(e.GetFilteredAttributes()),
			Time:               unixTime(e.GetTimeUnixNano()),
			Value:              number[N](e.GetAsInt(), e.GetAsDouble(), i),
			SpanID:             e.GetSpanId(),
			TraceID:            e.GetTraceId(),
		}
	}
	return out
}
