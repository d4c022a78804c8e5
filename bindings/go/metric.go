package ptel

import (
	"context"
	"unsafe"
)

// InstrumentOption configures an instrument. Options are plain values.
type InstrumentOption struct {
	unit, desc string
	bounds     []float64
	hasBounds  bool
}

// WithUnit sets the instrument's UCUM unit ("s", "By", "{detection}").
func WithUnit(u string) InstrumentOption { return InstrumentOption{unit: u} }

// WithDescription sets the instrument's description.
func WithDescription(d string) InstrumentOption { return InstrumentOption{desc: d} }

// WithBounds sets a histogram's explicit bucket bounds (strictly
// increasing, finite). Without it histograms use OpenTelemetry's defaults.
func WithBounds(b ...float64) InstrumentOption {
	return InstrumentOption{bounds: append([]float64(nil), b...), hasBounds: true}
}

// instrument is the common part of every instrument: its recorder, the C
// handle and the invocation it belongs to. A nil or stale instrument does
// nothing.
type instrument struct {
	r   *Recorder
	m   unsafe.Pointer // *ptel_metric, nil when refused
	gen uint32
}

func (r *Recorder) instrument(kind, number uint32, name string, opts []InstrumentOption) instrument {
	if r == nil {
		return instrument{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	in := instrument{r: r, gen: r.gen}
	if r.closed {
		return in
	}
	var unit, desc string
	var bounds []float64
	for _, o := range opts {
		if o.unit != "" {
			unit = o.unit
		}
		if o.desc != "" {
			desc = o.desc
		}
		if o.hasBounds {
			bounds = o.bounds
			if bounds == nil {
				bounds = []float64{}
			}
		}
	}
	// WithBounds() with no bounds means one (-inf, +inf) bucket; no
	// WithBounds at all means the defaults.
	m, rc := cMetricGet(r.c, kind, number, name, unit, desc, bounds, bounds != nil)
	in.m = m
	r.check(rc, "instrument "+name)
	return in
}

// record takes one measurement: one crossing into C.
func (in *instrument) record(ctx context.Context, isInt bool, i int64, f float64, attrs []KeyValue) {
	r := in.r
	if r == nil || in.m == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.guard()
	if in.gen != r.gen || r.closed {
		return
	}
	e := &r.enc
	e.reset()
	if d := r.activeSpan(ctx); d != nil {
		e.u8(1)
		e.b = append(e.b, r.traceID[:]...)
		e.b = append(e.b, d.id[:]...)
		e.u8(r.flags)
	} else {
		e.u8(0)
	}
	e.attrs(attrs, 0)
	rc := cMetricRecord(r.c, in.m, isInt, i, f, e.done())
	r.check(rc, "record measurement")
}

// activeSpan is the recording span of this invocation ctx carries, if any.
func (r *Recorder) activeSpan(ctx context.Context) *spanData {
	if ctx == nil {
		return nil
	}
	c, ok := ctx.Value(spanKey{}).(*spanCtx)
	if !ok || c.r != r || c.gen != r.gen || c.d == nil || c.d.gen != r.gen {
		return nil
	}
	return c.d
}

// Int64Counter is a monotonic sum of integers.
type Int64Counter struct{ in instrument }

// Float64Counter is a monotonic sum of floating-point numbers.
type Float64Counter struct{ in instrument }

// Int64UpDownCounter is a non-monotonic sum of integers.
type Int64UpDownCounter struct{ in instrument }

// Float64UpDownCounter is a non-monotonic sum of floating-point numbers.
type Float64UpDownCounter struct{ in instrument }

// Int64Gauge records the last integer value.
type Int64Gauge struct{ in instrument }

// Float64Gauge records the last floating-point value.
type Float64Gauge struct{ in instrument }

// Int64Histogram is an explicit-bucket histogram of integers.
type Int64Histogram struct{ in instrument }

// Float64Histogram is an explicit-bucket histogram of floating-point numbers.
type Float64Histogram struct{ in instrument }

// Int64Counter returns the instrument named name (names compare
// case-insensitively; asking again returns the same instrument). An invalid
// or conflicting instrument is refused and counted; its methods do nothing.
func (r *Recorder) Int64Counter(name string, opts ...InstrumentOption) *Int64Counter {
	return &Int64Counter{r.instrument(cMetricCounter, cNumberInt, name, opts)}
}

// Float64Counter returns a counter of floating-point numbers.
func (r *Recorder) Float64Counter(name string, opts ...InstrumentOption) *Float64Counter {
	return &Float64Counter{r.instrument(cMetricCounter, cNumberDouble, name, opts)}
}

// Int64UpDownCounter returns an up-down counter of integers.
func (r *Recorder) Int64UpDownCounter(name string, opts ...InstrumentOption) *Int64UpDownCounter {
	return &Int64UpDownCounter{r.instrument(cMetricUpDownCounter, cNumberInt, name, opts)}
}

// Float64UpDownCounter returns an up-down counter of floating-point numbers.
func (r *Recorder) Float64UpDownCounter(name string, opts ...InstrumentOption) *Float64UpDownCounter {
	return &Float64UpDownCounter{r.instrument(cMetricUpDownCounter, cNumberDouble, name, opts)}
}

// Int64Gauge returns a gauge of integers.
func (r *Recorder) Int64Gauge(name string, opts ...InstrumentOption) *Int64Gauge {
	return &Int64Gauge{r.instrument(cMetricGauge, cNumberInt, name, opts)}
}

// Float64Gauge returns a gauge of floating-point numbers.
func (r *Recorder) Float64Gauge(name string, opts ...InstrumentOption) *Float64Gauge {
	return &Float64Gauge{r.instrument(cMetricGauge, cNumberDouble, name, opts)}
}

// Int64Histogram returns a histogram of integers.
func (r *Recorder) Int64Histogram(name string, opts ...InstrumentOption) *Int64Histogram {
	return &Int64Histogram{r.instrument(cMetricHistogram, cNumberInt, name, opts)}
}

// Float64Histogram returns a histogram of floating-point numbers.
func (r *Recorder) Float64Histogram(name string, opts ...InstrumentOption) *Float64Histogram {
	return &Float64Histogram{r.instrument(cMetricHistogram, cNumberDouble, name, opts)}
}

// Add adds v (must be >= 0). When ctx carries a sampled span of the
// recorder, the measurement becomes the data point's exemplar.
func (c *Int64Counter) Add(ctx context.Context, v int64, attrs ...KeyValue) {
	if c != nil {
		c.in.record(ctx, true, v, 0, attrs)
	}
}

// Add adds v (must be finite and >= 0).
func (c *Float64Counter) Add(ctx context.Context, v float64, attrs ...KeyValue) {
	if c != nil {
		c.in.record(ctx, false, 0, v, attrs)
	}
}

// Add adds v, which may be negative.
func (c *Int64UpDownCounter) Add(ctx context.Context, v int64, attrs ...KeyValue) {
	if c != nil {
		c.in.record(ctx, true, v, 0, attrs)
	}
}

// Add adds v, which may be negative (must be finite).
func (c *Float64UpDownCounter) Add(ctx context.Context, v float64, attrs ...KeyValue) {
	if c != nil {
		c.in.record(ctx, false, 0, v, attrs)
	}
}

// Record sets the gauge's value for attrs.
func (g *Int64Gauge) Record(ctx context.Context, v int64, attrs ...KeyValue) {
	if g != nil {
		g.in.record(ctx, true, v, 0, attrs)
	}
}

// Record sets the gauge's value for attrs (NaN and infinities are kept).
func (g *Float64Gauge) Record(ctx context.Context, v float64, attrs ...KeyValue) {
	if g != nil {
		g.in.record(ctx, false, 0, v, attrs)
	}
}

// Record records v in the histogram.
func (h *Int64Histogram) Record(ctx context.Context, v int64, attrs ...KeyValue) {
	if h != nil {
		h.in.record(ctx, true, v, 0, attrs)
	}
}

// Record records v in the histogram (must be finite).
func (h *Float64Histogram) Record(ctx context.Context, v float64, attrs ...KeyValue) {
	if h != nil {
		h.in.record(ctx, false, 0, v, attrs)
	}
}
