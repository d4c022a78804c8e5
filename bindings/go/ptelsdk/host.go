package ptelsdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	colltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

// ScopeName is the instrumentation scope of the invocation spans, as the
// core names the host scope.
const ScopeName = "ptel"

// Host opens plugin invocations as spans of the host's TracerProvider and
// hands their validated telemetry to the host's pipelines. Safe for
// concurrent use.
type Host struct {
	tracer  trace.Tracer
	spans   *SpanProcessor
	metrics *MetricProducer
}

// NewHost returns a host whose invocation spans come from tp (scope "ptel",
// version ptel.CoreVersion) and whose plugin spans enter spans, which must
// be registered with tp. metrics may be nil: plugin metrics are then only
// validated.
func NewHost(tp trace.TracerProvider, spans *SpanProcessor, metrics *MetricProducer) *Host {
	return &Host{tracer: tp.Tracer(ScopeName, trace.WithInstrumentationVersion(ptel.CoreVersion)),
		spans: spans, metrics: metrics}
}

// Invocation is one plugin invocation: a ptel.Invocation (its
// PluginContext, report and exports) whose invocation span is the host
// SDK span Span. Close it after End (or it is released when unreachable).
type Invocation struct {
	*ptel.Invocation
	host  *Host
	span  trace.Span
	mu    sync.Mutex
	ended bool
}

// Span returns the invocation's SDK span.
func (i *Invocation) Span() trace.Span { return i.span }

// Begin starts the invocation span, a child of the span ctx carries, and
// the ptel invocation under it, with the SDK span's ids, start time and
// sampling: the core's decision is RECORD_AND_SAMPLE for a sampled SDK
// span, RECORD_ONLY for a recording unsampled one (whose plugin spans are
// kept and handed to the processors, as SDK spans are) and DROP otherwise.
// opts.Parent, SpanID, Decision and Policy.AcceptRecordOnly are set here;
// the rest of opts is used as given. The returned context carries the
// invocation span.
func (h *Host) Begin(ctx context.Context, opts *ptel.InvocationOptions) (context.Context, *Invocation, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var o ptel.InvocationOptions
	if opts != nil {
		o = *opts
	}
	start := o.Start
	if start.IsZero() {
		if o.Clock != nil {
			start = time.Unix(0, int64(o.Clock.Realtime()))
		} else {
			start = time.Now()
		}
	}
	name := o.SpanName
	if name == "" {
		name = "plugin.execute"
	}
	parent := trace.SpanContextFromContext(ctx)
	sctx, span := h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(start))
	sc := span.SpanContext()
	decision := ptel.DecisionDrop
	if span.IsRecording() {
		decision = ptel.DecisionRecordOnly
		if sc.IsSampled() {
			decision = ptel.DecisionRecordAndSample
		}
	}
	var parentID trace.SpanID
	if parent.TraceID() == sc.TraceID() {
		parentID = parent.SpanID()
	}
	o.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: sc.TraceID(), SpanID: parentID,
		TraceFlags: sc.TraceFlags(), TraceState: sc.TraceState(), Remote: parent.IsRemote()})
	o.SpanID = sc.SpanID()
	o.Decision = &decision
	o.Start = start
	var pol ptel.HostPolicy
	if o.Policy != nil {
		pol = *o.Policy
	}
	pol.AcceptRecordOnly = true
	o.Policy = &pol
	inv, err := ptel.BeginInvocation(ctx, &o)
	if err != nil {
		span.End()
		return ctx, nil, err
	}
	return sctx, &Invocation{Invocation: inv, host: h, span: span}, nil
}

// End ends the ptel invocation (validating payload as ptel.Invocation.End
// does), hands the accepted plugin spans to the host's SpanProcessor and
// the accepted metrics to its MetricProducer, then ends the SDK span with
// the attributes, status and end time the core gave the invocation span
// (plugin.name, plugin.hook, plugin.outcome, error.type, ...). The report
// and error are the core's; a failure to hand over is returned when the
// core reported none. Ending twice fails with ptel.ErrState.
func (i *Invocation) End(payload []byte, outcome ptel.Outcome, errorType string) (ptel.Report, error) {
	if i == nil {
		return ptel.Report{}, &ptel.Error{Code: ptel.ErrInvalidArgument, Op: "end invocation"}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	rep, err := i.Invocation.End(payload, outcome, errorType)
	// Every status but ErrState leaves the core's invocation ended.
	if i.ended || errors.Is(err, ptel.ErrState) {
		return rep, err
	}
	i.ended = true
	if herr := i.handOver(); err == nil {
		err = herr
	}
	return rep, err
}

func (i *Invocation) handOver() error {
	if i.host.metrics != nil {
		if err := i.host.metrics.Add(i.Invocation); err != nil {
			i.span.End()
			return err
		}
	}
	if !i.span.IsRecording() {
		i.span.End()
		return nil
	}
	b, err := i.ExportTraces(nil)
	if err != nil {
		i.span.End()
		return err
	}
	var req colltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		i.span.End()
		return fmt.Errorf("ptelsdk: decode validated spans: %w", err)
	}
	res := resource.Empty()
	if ro, ok := i.span.(sdktrace.ReadOnlySpan); ok {
		res = ro.Resource()
	}
	self := i.span.SpanContext().SpanID()
	var stubs []tracetest.SpanStub
	var end []trace.SpanEndOption
	children := map[trace.SpanID]int{}
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			scope := scopeOf(ss.GetScope(), ss.GetSchemaUrl())
			for _, s := range ss.GetSpans() {
				if spanID(s.GetSpanId()) == self {
					end = i.closeSpan(s)
					continue
				}
				stub := spanStub(s, scope, res)
				children[stub.Parent.SpanID()]++
				stubs = append(stubs, stub)
			}
		}
	}
	// Children end before their parents, as they would in the SDK.
	for k := range stubs {
		stubs[k].ChildSpanCount = children[stubs[k].SpanContext.SpanID()]
		i.host.spans.OnEnd(stubs[k].Snapshot())
	}
	i.span.End(end...)
	return nil
}

// closeSpan copies the core's invocation span onto the SDK span and
// returns its end option.
func (i *Invocation) closeSpan(s *tracepb.Span) []trace.SpanEndOption {
	i.span.SetAttributes(keyValues(s.GetAttributes())...)
	if st := status(s.GetStatus()); st.Code != codes.Unset {
		i.span.SetStatus(st.Code, st.Description)
	}
	return []trace.SpanEndOption{trace.WithTimestamp(unixTime(s.GetEndTimeUnixNano()))}
}
