package ptel

import (
	"context"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// HostPolicy is how the host validates plugin payloads. The zero value is
// the core's default policy.
type HostPolicy struct {
	Limits           Limits        // enforced, and sent to the plugin; zero fields = defaults
	TimeSlack        time.Duration // window slack on each side; 0 = default (1 s), < 0 = none
	TimePolicy       TimePolicy    // TimeClamp (default) or TimeReject
	ReservedKeys     []string      // nil = the defaults; an empty non-nil slice = none
	AcceptRecordOnly bool          // keep spans under DecisionRecordOnly
}

// InvocationOptions describe a plugin invocation to begin. nil means the
// defaults.
type InvocationOptions struct {
	// Parent is the host's active span: the invocation span's parent. A
	// valid trace id with a zero span id makes the invocation span the root
	// of that trace. Without a trace id, BeginInvocation uses the span of
	// its ctx, and without one a new trace starts.
	Parent trace.SpanContext
	// Baggage (W3C, already filtered by the host) handed to the plugin.
	Baggage string
	// Decision overrides the recording decision. nil = from the parent:
	// DecisionRecordAndSample when it is sampled or when there is no
	// parent, DecisionDrop otherwise.
	Decision      *Decision
	PluginName    string
	PluginVersion string
	Hook          string
	SpanName      string       // invocation span name; "" = "plugin.execute"
	SpanID        trace.SpanID // the invocation span's id; zero = generate
	Start         time.Time    // zero = now
	Features      Feature      // accepted in the payload; 0 = all of v1
	RemoteContext bool         // tell the plugin its parent is out of process
	Attributes    []KeyValue   // extra attributes of the invocation span
	Policy        *HostPolicy  // nil = defaults
	Clock         *ManualClock // nil = system clocks
	// IDs supplies the invocation span's id when SpanID is zero and, when
	// it also implements TraceIDGenerator, the trace id of a new trace
	// (flagged sampled only, not random). nil = the core's generator.
	IDs IDGenerator
}

// TraceIDGenerator supplies trace ids for new traces (see
// InvocationOptions.IDs).
type TraceIDGenerator interface {
	NewTraceID() trace.TraceID
}

// Invocation is one plugin invocation as the host sees it: the invocation
// span, the PluginContext handed to the plugin and, after End, the
// validated telemetry. After End, the export methods may be called from
// several goroutines at once.
type Invocation struct {
	mu      sync.RWMutex
	c       unsafe.Pointer // *ptel_invocation
	cleanup runtime.Cleanup
	clock   *ManualClock
	ended   bool
	closed  bool
	report  Report
}

// BeginInvocation opens an invocation span under the span ctx carries (the
// host's current OpenTelemetry span), or under opts.Parent when valid, and
// builds the plugin's context.
func BeginInvocation(ctx context.Context, opts *InvocationOptions) (*Invocation, error) {
	var o InvocationOptions
	if opts != nil {
		o = *opts
	}
	if !o.Parent.TraceID().IsValid() && ctx != nil {
		o.Parent = trace.SpanContextFromContext(ctx)
	}
	return beginInvocation(&o, o.Parent.TraceState().String())
}

// BeginInvocationW3C opens an invocation span under a parent given as W3C
// header values (opts.Parent is ignored). As W3C requires, an invalid
// traceparent starts a new trace, and an invalid tracestate or baggage is
// dropped. Baggage given here replaces opts.Baggage when non-empty.
func BeginInvocationW3C(traceparent, tracestate, baggage string, opts *InvocationOptions) (*Invocation, error) {
	var o InvocationOptions
	if opts != nil {
		o = *opts
	}
	o.Parent = trace.SpanContext{}
	if tp, err := ParseTraceparent(traceparent); err == nil {
		o.Parent = tp.SpanContext()
	} else {
		tracestate = ""
	}
	if baggage != "" {
		o.Baggage = baggage
	}
	return beginInvocation(&o, tracestate)
}

func beginInvocation(o *InvocationOptions, tracestate string) (*Invocation, error) {
	if o.IDs != nil {
		if !o.SpanID.IsValid() {
			o.SpanID = o.IDs.NewSpanID() // a zero id still means "generate"
		}
		if g, ok := o.IDs.(TraceIDGenerator); ok && !o.Parent.TraceID().IsValid() {
			o.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: g.NewTraceID(),
				TraceFlags: trace.FlagsSampled})
		}
	}
	var e enc
	e.reset()
	p := o.Parent
	tid, sid := p.TraceID(), p.SpanID()
	e.b = append(e.b, tid[:]...)
	e.b = append(e.b, sid[:]...)
	e.u8(uint8(p.TraceFlags()))
	e.bool(p.IsRemote())
	e.str(tracestate)
	e.str(o.Baggage)
	decision := DecisionRecordAndSample
	if o.Decision != nil {
		decision = *o.Decision
	} else if p.IsValid() && !p.IsSampled() {
		decision = DecisionDrop
	}
	e.u32(uint32(decision))
	e.str(o.PluginName)
	e.str(o.PluginVersion)
	e.str(o.Hook)
	e.str(o.SpanName)
	e.b = append(e.b, o.SpanID[:]...)
	e.u64(unixNano(o.Start))
	e.u64(uint64(o.Features))
	e.bool(o.RemoteContext)
	e.attrs(o.Attributes, 0)
	var pol HostPolicy
	if o.Policy != nil {
		pol = *o.Policy
	}
	l := pol.Limits
	for _, v := range [...]uint32{l.AttributeCount, l.AttributeValueLength, l.AttributeDepth,
		l.EventCount, l.LinkCount, l.AttributesPerEvent, l.AttributesPerLink, l.SpanCount,
		l.MetricCount, l.MetricCardinality, l.PayloadBytes} {
		e.u32(v)
	}
	switch {
	case pol.TimeSlack > 0:
		e.u8(1)
		e.u64(uint64(pol.TimeSlack))
	case pol.TimeSlack < 0:
		e.u8(1)
		e.u64(0)
	default:
		e.u8(0)
	}
	e.u32(uint32(pol.TimePolicy))
	if pol.ReservedKeys != nil {
		e.u8(1)
		e.u32(uint32(len(pol.ReservedKeys)))
		e.ns += uint32(len(pol.ReservedKeys))
		for _, k := range pol.ReservedKeys {
			e.str(k)
		}
	} else {
		e.u8(0)
	}
	e.bool(pol.AcceptRecordOnly)
	var clock unsafe.Pointer
	if o.Clock != nil {
		clock = o.Clock.p
	}
	c, err := cInvocationBegin(e.done(), clock)
	runtime.KeepAlive(o.Clock)
	if err != nil {
		return nil, err
	}
	inv := &Invocation{c: c, clock: o.Clock}
	inv.cleanup = runtime.AddCleanup(inv, cInvocationFree, c)
	return inv, nil
}

func (e *enc) bool(b bool) {
	if b {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (inv *Invocation) rlock(op string) error {
	if inv == nil {
		return &Error{Code: ErrInvalidArgument, Op: op, Reason: "nil invocation"}
	}
	inv.mu.RLock()
	if inv.closed {
		inv.mu.RUnlock()
		return &Error{Code: ErrState, Op: op, Reason: "invocation closed"}
	}
	return nil
}

// Context returns the PluginContext to hand to the plugin, as an
// independent Context (it stays valid after Close).
func (inv *Invocation) Context() (*Context, error) {
	b, err := inv.ContextBytes()
	if err != nil {
		return nil, err
	}
	return DecodeContext(b)
}

// ContextBytes returns the PluginContext as bytes.
func (inv *Invocation) ContextBytes() ([]byte, error) {
	if err := inv.rlock("invocation context"); err != nil {
		return nil, err
	}
	defer inv.mu.RUnlock()
	return cContextEncode(cInvocationContext(inv.c))
}

// Env returns the PluginContext as environment variables for a subprocess
// plugin ("NAME=value" entries).
func (inv *Invocation) Env() ([]string, error) {
	c, err := inv.Context()
	if err != nil {
		return nil, err
	}
	return c.Env()
}

// Traceparent returns the W3C traceparent naming the invocation span.
func (inv *Invocation) Traceparent() (string, error) {
	if err := inv.rlock("traceparent"); err != nil {
		return "", err
	}
	defer inv.mu.RUnlock()
	return cContextTraceparent(cInvocationContext(inv.c))
}

// SpanContext returns the invocation span's own context.
func (inv *Invocation) SpanContext() trace.SpanContext {
	if inv.rlock("span context") != nil {
		return trace.SpanContext{}
	}
	defer inv.mu.RUnlock()
	tid, sid, flags, remote := cInvocationSpanContext(inv.c)
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags), Remote: remote})
}

// Diag locates the first problem of a payload.
type Diag struct {
	Status  ErrorCode // the wire status of a rejection (e.g. ErrTruncated), else 0
	Field   uint32    // protobuf field number
	Offset  uint64    // byte offset into the payload
	Message string
}

// ReasonCounts counts occurrences per Reason.
type ReasonCounts [reasonCount]uint32

// Map returns the non-zero counts by reason name.
func (c *ReasonCounts) Map() map[string]uint32 {
	m := map[string]uint32{}
	for k, n := range c {
		if n != 0 {
			m[Reason(k).String()] = n
		}
	}
	return m
}

// Report is what validating one payload did.
type Report struct {
	Rejected             bool // the whole payload was dropped
	SpansAccepted        uint32
	SpansDropped         uint32
	SpansModified        uint32 // accepted spans that were re-encoded
	OpenSpans            uint32 // accepted spans the host ended
	MetricsAccepted      uint32
	MetricsDropped       uint32
	PointsAccepted       uint32
	PointsDropped        uint32
	PluginDroppedSpans   uint32 // the plugin's own drop counters, as received
	PluginDroppedMetrics uint32
	PluginDroppedPoints  uint32
	PluginErrors         uint32
	Reasons              ReasonCounts
	FirstReason          Reason // ReasonNone when nothing was dropped or changed
	First                Diag
	raw                  reportRaw
}

// JSON renders the report as one line of JSON, as the core does.
func (r *Report) JSON() string { return cReportJSON(&r.raw) }

// End ends the invocation: it stamps the invocation span's end, records the
// outcome (errorType "" = the outcome's default) and validates payload, the
// plugin's PluginTelemetry bytes (copied; nil = no telemetry). The report
// is returned even when the payload was rejected (then err matches
// ErrRejected). Ending twice fails with ErrState.
func (inv *Invocation) End(payload []byte, outcome Outcome, errorType string) (Report, error) {
	if inv == nil {
		return Report{}, &Error{Code: ErrInvalidArgument, Op: "end invocation"}
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.closed {
		return Report{}, &Error{Code: ErrState, Op: "end invocation", Reason: "invocation closed"}
	}
	var raw cReport
	err := cInvocationEnd(inv.c, payload, uint32(outcome), errorType, &raw)
	runtime.KeepAlive(inv.clock)
	if err != nil && !inv.ended && errorCode(err) == ErrState {
		return Report{}, err
	}
	if inv.ended {
		return inv.report, err
	}
	inv.ended = true
	inv.report = reportFromC(&raw)
	return inv.report, err
}

func errorCode(err error) ErrorCode {
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	return 0
}

// Close releases the invocation. Idempotent; an invocation that is not
// closed is released when it becomes unreachable.
func (inv *Invocation) Close() {
	if inv == nil {
		return
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.closed {
		return
	}
	inv.closed = true
	inv.cleanup.Stop()
	cInvocationFree(inv.c)
	inv.c = nil
}

// ExportOptions configure the export calls. nil means the defaults.
type ExportOptions struct {
	Resource           []KeyValue // the host's Resource attributes (service.name, ...)
	SchemaURL          string     // ResourceSpans/ResourceMetrics schema_url
	ScopeName          string     // scope of the invocation span; "" = "ptel"
	ScopeVersion       string     // "" = the core's version
	OmitInvocationSpan bool       // an SDK adapter exports the invocation span itself
}

func (o *ExportOptions) record() []byte {
	var e enc
	e.reset()
	if o == nil {
		o = &ExportOptions{}
	}
	e.attrs(o.Resource, 0)
	e.str(o.SchemaURL)
	e.str(o.ScopeName)
	e.str(o.ScopeVersion)
	e.bool(o.OmitInvocationSpan)
	return e.done()
}

func (inv *Invocation) export(what int, opts *ExportOptions) ([]byte, error) {
	if err := inv.rlock("export"); err != nil {
		return nil, err
	}
	defer inv.mu.RUnlock()
	return cExport(what, inv.c, nil, 0, opts.record(), nil)
}

// ExportTraces returns an OTLP ExportTraceServiceRequest with the
// invocation span and the accepted plugin spans (empty when there is no
// span). ErrState before End.
func (inv *Invocation) ExportTraces(opts *ExportOptions) ([]byte, error) {
	return inv.export(exportTraces, opts)
}

// ExportMetrics returns an OTLP ExportMetricsServiceRequest with the
// accepted per-invocation DELTA metrics (empty when there are none).
func (inv *Invocation) ExportMetrics(opts *ExportOptions) ([]byte, error) {
	return inv.export(exportMetrics, opts)
}

// ExportScopeSpans returns only the ResourceSpans.scope_spans fields of
// ExportTraces, for hosts that batch many invocations (see WrapTraces).
func (inv *Invocation) ExportScopeSpans(opts *ExportOptions) ([]byte, error) {
	return inv.export(exportScopeSpans, opts)
}

// ExportScopeMetrics is ExportScopeSpans for metrics (see WrapMetrics).
func (inv *Invocation) ExportScopeMetrics(opts *ExportOptions) ([]byte, error) {
	return inv.export(exportScopeMetrics, opts)
}

// TracesJSON returns ExportTraces as canonical OTLP/JSON.
func (inv *Invocation) TracesJSON(opts *ExportOptions) ([]byte, error) {
	b, err := inv.ExportTraces(opts)
	if err != nil {
		return nil, err
	}
	return RenderJSON(JSONTracesData, b)
}

// MetricsJSON returns ExportMetrics as canonical OTLP/JSON.
func (inv *Invocation) MetricsJSON(opts *ExportOptions) ([]byte, error) {
	b, err := inv.ExportMetrics(opts)
	if err != nil {
		return nil, err
	}
	return RenderJSON(JSONMetricsData, b)
}

// WrapTraces wraps concatenated ExportScopeSpans outputs into one
// ExportTraceServiceRequest with the Resource of opts.
func WrapTraces(opts *ExportOptions, scopeSpans []byte) ([]byte, error) {
	return cExport(exportWrapTraces, nil, nil, 0, opts.record(), scopeSpans)
}

// WrapMetrics wraps concatenated ExportScopeMetrics outputs into one
// ExportMetricsServiceRequest.
func WrapMetrics(opts *ExportOptions, scopeMetrics []byte) ([]byte, error) {
	return cExport(exportWrapMetrics, nil, nil, 0, opts.record(), scopeMetrics)
}

// JSONMessage names the message type of protobuf bytes to render as JSON.
type JSONMessage uint32

// Message types RenderJSON knows.
const (
	JSONPluginTelemetry JSONMessage = cJSONPluginTelemetry
	JSONPluginContext   JSONMessage = cJSONPluginContext
	JSONTracesData      JSONMessage = cJSONTracesData // = ExportTraceServiceRequest
	JSONMetricsData     JSONMessage = cJSONMetricsData
	JSONSpan            JSONMessage = cJSONSpan
	JSONMetric          JSONMessage = cJSONMetric
)

// RenderJSON renders protobuf bytes of the given message type as canonical
// OTLP/JSON. The input is untrusted: malformed input fails with
// ErrMalformed, ErrTruncated, ErrUTF8 or ErrDepth.
func RenderJSON(msg JSONMessage, data []byte) ([]byte, error) {
	return cJSONRender(uint32(msg), data)
}

// ---- aggregation ----------------------------------------------------------------------

// AggregatorOptions configure NewAggregator; nil means the defaults.
type AggregatorOptions struct {
	CardinalityLimit uint32       // attribute sets per metric; 0 = 2000
	MetricLimit      uint32       // metrics in total; 0 = 4096
	Clock            *ManualClock // nil = system clocks
}

// AggregatorStats are an aggregator's counters.
type AggregatorStats struct {
	Invocations       uint64
	PointsAdded       uint64
	PointsOverflowed  uint64
	PointsConflicting uint64
	MetricsDropped    uint64
	Metrics           uint32
	Streams           uint32
}

// Aggregator folds the metric deltas of many invocations into cumulative
// streams. Safe for concurrent use.
type Aggregator struct {
	mu      sync.RWMutex
	c       unsafe.Pointer
	cleanup runtime.Cleanup
	clock   *ManualClock
	closed  bool
}

// NewAggregator creates an aggregator.
func NewAggregator(opts *AggregatorOptions) (*Aggregator, error) {
	var o AggregatorOptions
	if opts != nil {
		o = *opts
	}
	var clock unsafe.Pointer
	if o.Clock != nil {
		clock = o.Clock.p
	}
	c, err := cAggregatorNew(o.CardinalityLimit, o.MetricLimit, clock)
	if err != nil {
		return nil, err
	}
	a := &Aggregator{c: c, clock: o.Clock}
	a.cleanup = runtime.AddCleanup(a, cAggregatorFree, c)
	return a, nil
}

func (a *Aggregator) rlock(op string) error {
	if a == nil {
		return &Error{Code: ErrInvalidArgument, Op: op, Reason: "nil aggregator"}
	}
	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return &Error{Code: ErrState, Op: op, Reason: "aggregator closed"}
	}
	return nil
}

// Add folds an ended invocation's accepted metrics into the streams.
// ErrState before the invocation's End.
func (a *Aggregator) Add(inv *Invocation) error {
	if err := a.rlock("aggregate"); err != nil {
		return err
	}
	defer a.mu.RUnlock()
	if err := inv.rlock("aggregate"); err != nil {
		return err
	}
	defer inv.mu.RUnlock()
	return cAggregatorAdd(a.c, inv.c)
}

// Export returns an ExportMetricsServiceRequest of every stream (empty when
// there is none). With TemporalityDelta, sums and histograms are the change
// since the previous delta export.
func (a *Aggregator) Export(opts *ExportOptions, t Temporality) ([]byte, error) {
	if err := a.rlock("export"); err != nil {
		return nil, err
	}
	defer a.mu.RUnlock()
	b, err := cExport(exportAggregator, nil, a.c, uint32(t), opts.record(), nil)
	runtime.KeepAlive(a.clock)
	return b, err
}

// Stats returns the aggregator's counters.
func (a *Aggregator) Stats() AggregatorStats {
	if a.rlock("stats") != nil {
		return AggregatorStats{}
	}
	defer a.mu.RUnlock()
	return cAggregatorStats(a.c)
}

// Close releases the aggregator. Idempotent.
func (a *Aggregator) Close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	a.cleanup.Stop()
	cAggregatorFree(a.c)
	a.c = nil
}
