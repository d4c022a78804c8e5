package ptelsdk

import (
	"reflect"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// The conversions below read OTLP messages the core has already validated
// and re-encoded canonically; they still never trust a length or a value
// (a wrong-sized id becomes the zero id), so a core bug cannot panic here.

// OTLP span flags above the W3C trace flags.
const (
	flagHasIsRemote = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	flagIsRemote    = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
)

func unixTime(ns uint64) time.Time {
	if ns == 0 || ns > 1<<63-1 {
		return time.Time{} // the SDK's exporters write the zero time as 0
	}
	return time.Unix(0, int64(ns))
}

func traceID(b []byte) (id trace.TraceID) {
	if len(b) == len(id) {
		copy(id[:], b)
	}
	return id
}

func spanID(b []byte) (id trace.SpanID) {
	if len(b) == len(id) {
		copy(id[:], b)
	}
	return id
}

func isRemote(flags uint32) bool {
	return flags&(flagHasIsRemote|flagIsRemote) == flagHasIsRemote|flagIsRemote
}

// traceState parses a W3C tracestate; an invalid one (the core checks only
// its UTF-8) becomes empty, as the SDK's own propagator would make it.
func traceState(s string) trace.TraceState {
	ts, err := trace.ParseTraceState(s)
	if err != nil {
		return trace.TraceState{}
	}
	return ts
}

// value maps an OTLP AnyValue onto attribute.Value, which since v1.47 has
// every OTLP kind: a homogeneous non-empty array becomes the typed slice, any
// other array a SLICE, a kvlist a MAP, no value EMPTY. The SDK's exporters
// write each back as the same AnyValue.
func value(v *commonpb.AnyValue) attribute.Value {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return attribute.StringValue(x.StringValue)
	case *commonpb.AnyValue_BoolValue:
		return attribute.BoolValue(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return attribute.Int64Value(x.IntValue)
	case *commonpb.AnyValue_DoubleValue:
		return attribute.Float64Value(x.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		return attribute.ByteSliceValue(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		return arrayValue(x.ArrayValue.GetValues())
	case *commonpb.AnyValue_KvlistValue:
		return attribute.MapValue(keyValues(x.KvlistValue.GetValues())...)
	}
	return attribute.Value{}
}

func arrayValue(vs []*commonpb.AnyValue) attribute.Value {
	if len(vs) > 0 {
		switch vs[0].GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			if out, ok := homogeneous(vs, (*commonpb.AnyValue).GetStringValue); ok {
				return attribute.StringSliceValue(out)
			}
		case *commonpb.AnyValue_BoolValue:
			if out, ok := homogeneous(vs, (*commonpb.AnyValue).GetBoolValue); ok {
				return attribute.BoolSliceValue(out)
			}
		case *commonpb.AnyValue_IntValue:
			if out, ok := homogeneous(vs, (*commonpb.AnyValue).GetIntValue); ok {
				return attribute.Int64SliceValue(out)
			}
		case *commonpb.AnyValue_DoubleValue:
			if out, ok := homogeneous(vs, (*commonpb.AnyValue).GetDoubleValue); ok {
				return attribute.Float64SliceValue(out)
			}
		}
	}
	out := make([]attribute.Value, len(vs))
	for k, v := range vs {
		out[k] = value(v)
	}
	return attribute.SliceValue(out...)
}

// homogeneous returns the array's elements when all have the first one's
// kind.
func homogeneous[T any](vs []*commonpb.AnyValue, get func(*commonpb.AnyValue) T) ([]T, bool) {
	out := make([]T, len(vs))
	for k, v := range vs {
		if !sameKind(v, vs[0]) {
			return nil, false
		}
		out[k] = get(v)
	}
	return out, true
}

// sameKind compares the oneof cases of two values.
func sameKind(a, b *commonpb.AnyValue) bool {
	return reflect.TypeOf(a.GetValue()) == reflect.TypeOf(b.GetValue())
}

// keyValues keeps the list's order (and, inside a kvlist value, any
// repeated key; the host has already dropped repeats at the top level).
func keyValues(kvs []*commonpb.KeyValue) []attribute.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, len(kvs))
	for k, kv := range kvs {
		out[k] = attribute.KeyValue{Key: attribute.Key(kv.GetKey()), Value: value(kv.GetValue())}
	}
	return out
}

// status maps OTLP's status (UNSET 0, OK 1, ERROR 2) onto codes (Unset 0,
// Error 1, Ok 2).
func status(s *tracepb.Status) sdktrace.Status {
	switch s.GetCode() {
	case tracepb.Status_STATUS_CODE_OK:
		return sdktrace.Status{Code: codes.Ok}
	case tracepb.Status_STATUS_CODE_ERROR:
		return sdktrace.Status{Code: codes.Error, Description: s.GetMessage()}
	}
	return sdktrace.Status{Code: codes.Unset}
}

func events(es []*tracepb.Span_Event) []sdktrace.Event {
	if len(es) == 0 {
		return nil
	}
	out := make([]sdktrace.Event, len(es))
	for k, e := range es {
		out[k] = sdktrace.Event{Name: e.GetName(), Attributes: keyValues(e.GetAttributes()),
			DroppedAttributeCount: int(e.GetDroppedAttributesCount()), Time: unixTime(e.GetTimeUnixNano())}
	}
	return out
}

func links(ls []*tracepb.Span_Link) []sdktrace.Link {
	if len(ls) == 0 {
		return nil
	}
	out := make([]sdktrace.Link, len(ls))
	for k, l := range ls {
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID(l.GetTraceId()),
			SpanID: spanID(l.GetSpanId()), TraceFlags: trace.TraceFlags(l.GetFlags() & 0xff),
			TraceState: traceState(l.GetTraceState()), Remote: isRemote(l.GetFlags())})
		out[k] = sdktrace.Link{SpanContext: sc, Attributes: keyValues(l.GetAttributes()),
			DroppedAttributeCount: int(l.GetDroppedAttributesCount())}
	}
	return out
}

// spanStub converts one validated OTLP span. The parent's span context
// carries the span's own trace flags (OTLP does not keep the parent's).
func spanStub(s *tracepb.Span, scope instrumentation.Scope, res *resource.Resource) tracetest.SpanStub {
	tid := traceID(s.GetTraceId())
	flags := trace.TraceFlags(s.GetFlags() & 0xff)
	ts := traceState(s.GetTraceState())
	stub := tracetest.SpanStub{
		Name: s.GetName(),
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid,
			SpanID: spanID(s.GetSpanId()), TraceFlags: flags, TraceState: ts}),
		SpanKind:             trace.SpanKind(s.GetKind()),
		StartTime:            unixTime(s.GetStartTimeUnixNano()),
		EndTime:              unixTime(s.GetEndTimeUnixNano()),
		Attributes:           keyValues(s.GetAttributes()),
		Events:               events(s.GetEvents()),
		Links:                links(s.GetLinks()),
		Status:               status(s.GetStatus()),
		DroppedAttributes:    int(s.GetDroppedAttributesCount()),
		DroppedEvents:        int(s.GetDroppedEventsCount()),
		DroppedLinks:         int(s.GetDroppedLinksCount()),
		Resource:             res,
		InstrumentationScope: scope,
	}
	if p := spanID(s.GetParentSpanId()); p.IsValid() {
		stub.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: p,
			TraceFlags: flags, TraceState: ts, Remote: isRemote(s.GetFlags())})
	}
	return stub
}

func scopeOf(s *commonpb.InstrumentationScope, schemaURL string) instrumentation.Scope {
	sc := instrumentation.Scope{Name: s.GetName(), Version: s.GetVersion(), SchemaURL: schemaURL}
	if kvs := keyValues(s.GetAttributes()); len(kvs) > 0 {
		sc.Attributes = attribute.NewSet(kvs...)
	}
	return sc
}
