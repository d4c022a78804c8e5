package ptel_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

// telemetry is a PluginTelemetry payload decoded with the official OTLP Go
// types for its spans and metrics. The envelope (ptel.v1.PluginTelemetry)
// is walked with protowire: it has no generated Go type.
type telemetry struct {
	Version uint32
	Spans   []*tracepb.Span
	Metrics []*metricspb.Metric
	Open    []*tracepb.Span
	Dropped ptel.DropCounts
}

func decodeTelemetry(t testing.TB, b []byte) *telemetry {
	t.Helper()
	out := &telemetry{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatal("bad version")
			}
			out.Version = uint32(v)
			b = b[n:]
		case (num == 2 || num == 3 || num == 4 || num == 5) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal("bad length")
			}
			b = b[n:]
			switch num {
			case 2, 4:
				s := &tracepb.Span{}
				if err := proto.Unmarshal(v, s); err != nil {
					t.Fatal(err)
				}
				if num == 2 {
					out.Spans = append(out.Spans, s)
				} else {
					out.Open = append(out.Open, s)
				}
			case 3:
				m := &metricspb.Metric{}
				if err := proto.Unmarshal(v, m); err != nil {
					t.Fatal(err)
				}
				out.Metrics = append(out.Metrics, m)
			case 5:
				out.Dropped = decodeDrops(t, v)
			}
		default:
			t.Fatalf("unexpected field %d type %d", num, typ)
		}
	}
	return out
}

func decodeDrops(t testing.TB, b []byte) (d ptel.DropCounts) {
	for len(b) > 0 {
		num, _, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad drops")
		}
		b = b[n:]
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			t.Fatal("bad drops")
		}
		b = b[n:]
		switch num {
		case 1:
			d.Spans = uint32(v)
		case 2:
			d.Metrics = uint32(v)
		case 3:
			d.MetricPoints = uint32(v)
		case 4:
			d.Errors = uint32(v)
		}
	}
	return d
}

func (tel *telemetry) span(t testing.TB, name string) *tracepb.Span {
	t.Helper()
	for _, s := range append(append([]*tracepb.Span{}, tel.Spans...), tel.Open...) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q", name)
	return nil
}

func (tel *telemetry) metric(t testing.TB, name string) *metricspb.Metric {
	t.Helper()
	for _, m := range tel.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no metric %q", name)
	return nil
}

// anyValue converts a ptel value into the OTLP AnyValue it must become.
func anyValue(v ptel.Value) *commonpb.AnyValue {
	switch v.Kind() {
	case ptel.KindBool:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}}
	case ptel.KindInt64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case ptel.KindFloat64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}}
	case ptel.KindString:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v.AsString()}}
	case ptel.KindBytes:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsBytes()}}
	case ptel.KindBoolSlice:
		return arrayOf(len(v.AsBoolSlice()), func(k int) ptel.Value { return ptel.BoolValue(v.AsBoolSlice()[k]) })
	case ptel.KindInt64Slice:
		return arrayOf(len(v.AsInt64Slice()), func(k int) ptel.Value { return ptel.Int64Value(v.AsInt64Slice()[k]) })
	case ptel.KindFloat64Slice:
		return arrayOf(len(v.AsFloat64Slice()), func(k int) ptel.Value { return ptel.Float64Value(v.AsFloat64Slice()[k]) })
	case ptel.KindStringSlice:
		return arrayOf(len(v.AsStringSlice()), func(k int) ptel.Value { return ptel.StringValue(v.AsStringSlice()[k]) })
	case ptel.KindSlice:
		return arrayOf(len(v.AsSlice()), func(k int) ptel.Value { return v.AsSlice()[k] })
	case ptel.KindMap:
		kv := &commonpb.KeyValueList{}
		for _, e := range v.AsMap() {
			kv.Values = append(kv.Values, &commonpb.KeyValue{Key: e.Key, Value: anyValue(e.Value)})
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: kv}}
	default:
		return &commonpb.AnyValue{}
	}
}

func arrayOf(n int, at func(int) ptel.Value) *commonpb.AnyValue {
	a := &commonpb.ArrayValue{}
	for k := 0; k < n; k++ {
		a.Values = append(a.Values, anyValue(at(k)))
	}
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: a}}
}

func keyValues(kvs ...ptel.KeyValue) []*commonpb.KeyValue {
	var out []*commonpb.KeyValue
	for _, kv := range kvs {
		out = append(out, &commonpb.KeyValue{Key: kv.Key, Value: anyValue(kv.Value)})
	}
	return out
}

// sameKeyValues compares attribute lists with proto.Equal (NaN-safe by bits).
func sameKeyValues(t testing.TB, what string, got, want []*commonpb.KeyValue) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d attributes, want %d: %v", what, len(got), len(want), got)
	}
	for k := range got {
		if !proto.Equal(got[k], want[k]) && !nanEqual(got[k], want[k]) {
			t.Fatalf("%s[%d] = %v, want %v", what, k, got[k], want[k])
		}
	}
}

func nanEqual(a, b *commonpb.KeyValue) bool {
	x, y := a.GetValue().GetDoubleValue(), b.GetValue().GetDoubleValue()
	return a.Key == b.Key && math.IsNaN(x) && math.IsNaN(y)
}

func attrMap(kvs []*commonpb.KeyValue) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func eqBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s = %x, want %x", what, got, want)
	}
}

func eq[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func decodeTraces(t testing.TB, b []byte) *tracepb.TracesData {
	t.Helper()
	td := &tracepb.TracesData{}
	if err := proto.Unmarshal(b, td); err != nil {
		t.Fatal(err)
	}
	return td
}

func decodeMetrics(t testing.TB, b []byte) *metricspb.MetricsData {
	t.Helper()
	md := &metricspb.MetricsData{}
	if err := proto.Unmarshal(b, md); err != nil {
		t.Fatal(err)
	}
	return md
}

func allSpans(td *tracepb.TracesData) (out []*tracepb.Span) {
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			out = append(out, ss.Spans...)
		}
	}
	return out
}

func hexID(b []byte) string { return fmt.Sprintf("%x", b) }
