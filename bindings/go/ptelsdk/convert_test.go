package ptelsdk

import (
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func iv(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}
func arr(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}

func TestValueKinds(t *testing.T) {
	cases := []struct {
		name string
		in   *commonpb.AnyValue
		want attribute.Value
	}{
		{"nil", nil, attribute.Value{}},
		{"no value", &commonpb.AnyValue{}, attribute.Value{}},
		{"ints", arr(iv(1), iv(2)), attribute.Int64SliceValue([]int64{1, 2})},
		{"strings", arr(sv("a")), attribute.StringSliceValue([]string{"a"})},
		{"mixed", arr(iv(1), sv("a")), attribute.SliceValue(attribute.Int64Value(1), attribute.StringValue("a"))},
		{"empty array", arr(), attribute.SliceValue()},
		{"nil array", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{}}, attribute.SliceValue()},
		{"nested", arr(arr(iv(1))), attribute.SliceValue(attribute.Int64SliceValue([]int64{1}))},
		{"array with empty", arr(&commonpb.AnyValue{}), attribute.SliceValue(attribute.Value{})},
		{"kvlist with repeat", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
			Values: []*commonpb.KeyValue{{Key: "k", Value: iv(1)}, {Key: "k", Value: iv(2)}, {Key: "n"}}}}},
			attribute.MapValue(attribute.Int64("k", 1), attribute.Int64("k", 2), attribute.KeyValue{Key: "n"})},
	}
	for _, c := range cases {
		if got := value(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %#v, want %#v", c.name, got, c.want)
		}
	}
}

// Core output is trusted to be valid, but a malformed field must not
// panic: ids of the wrong size are zero, an invalid tracestate is empty.
func TestSpanStubDefensive(t *testing.T) {
	s := &tracepb.Span{TraceId: []byte{1}, SpanId: make([]byte, 9), ParentSpanId: []byte{1, 2},
		TraceState: "not a tracestate!", Flags: 0x201, EndTimeUnixNano: 1 << 63,
		Links:  []*tracepb.Span_Link{{TraceId: []byte{1}, Flags: 0x300}},
		Status: &tracepb.Status{Code: 7, Message: "x"}}
	got := spanStub(s, scopeOf(nil, ""), nil)
	if got.SpanContext.TraceID().IsValid() || got.SpanContext.SpanID().IsValid() || got.Parent.IsValid() {
		t.Fatalf("ids %v parent %v", got.SpanContext, got.Parent)
	}
	if got.SpanContext.TraceState().Len() != 0 || got.SpanContext.TraceFlags() != 1 {
		t.Fatalf("state %v flags %v", got.SpanContext.TraceState(), got.SpanContext.TraceFlags())
	}
	if !got.EndTime.IsZero() || !got.StartTime.IsZero() {
		t.Fatalf("times %v %v", got.StartTime, got.EndTime)
	}
	if got.Status != (sdktrace.Status{Code: codes.Unset}) {
		t.Fatalf("status %+v", got.Status)
	}
	if !got.Links[0].SpanContext.IsRemote() {
		t.Fatal("link remote flag lost")
	}
}

func TestStatusAndRemote(t *testing.T) {
	if st := status(&tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK, Message: "dropped"}); st != (sdktrace.Status{Code: codes.Ok}) {
		t.Fatalf("ok: %+v", st)
	}
	if st := status(&tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "m"}); st != (sdktrace.Status{Code: codes.Error, Description: "m"}) {
		t.Fatalf("error: %+v", st)
	}
	// Bit 9 means remote only with bit 8 (the parent's remoteness known).
	for flags, want := range map[uint32]bool{0: false, 0x100: false, 0x200: false, 0x300: true} {
		if isRemote(flags) != want {
			t.Errorf("isRemote(%#x) != %v", flags, want)
		}
	}
	if got := unixTime(5); !got.Equal(time.Unix(0, 5)) {
		t.Fatalf("time %v", got)
	}
	if id := spanID(make([]byte, 8)); id != (trace.SpanID{}) {
		t.Fatal("zero id")
	}
}
