package ptel_test

import (
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

func TestErrorCodesAndSentinels(t *testing.T) {
	codes := []ptel.ErrorCode{ptel.ErrInvalidArgument, ptel.ErrNoMem, ptel.ErrBufferTooSmall,
		ptel.ErrState, ptel.ErrLimit, ptel.ErrTruncated, ptel.ErrMalformed, ptel.ErrDepth,
		ptel.ErrUTF8, ptel.ErrTraceparent, ptel.ErrTracestate, ptel.ErrBaggage, ptel.ErrVersion,
		ptel.ErrInvalidID, ptel.ErrName, ptel.ErrConflict, ptel.ErrNotFound, ptel.ErrRejected,
		ptel.ErrIO, ptel.ErrValue}
	for k, c := range codes {
		eq(t, "value", int(c), -(k + 1))
	}
	eq(t, "name", ptel.ErrNoMem.Name(), "E_NOMEM")
	eq(t, "message", ptel.ErrNoMem.Error(), "ptel: out of memory")
	eq(t, "unknown name", ptel.ErrorCode(-999).Name(), "UNKNOWN")
	eq(t, "unknown message", ptel.ErrorCode(-999).Error(), "ptel: unknown status -999")
	eq(t, "positive", ptel.ErrorCode(5).Name(), "UNKNOWN")
	e := &ptel.Error{Code: ptel.ErrTruncated, Op: "decode", Field: 3, Offset: 17, Reason: "short"}
	eq(t, "formatted", e.Error(), "ptel: decode: input ends inside a field: short (offset 17, field 3)")
	eq(t, "bare", (&ptel.Error{Code: ptel.ErrState, Op: "x"}).Error(),
		"ptel: x: object is in the wrong state for this call")
	wrapped := fmt.Errorf("outer: %w", e)
	if !errors.Is(wrapped, ptel.ErrTruncated) || errors.Is(wrapped, ptel.ErrMalformed) {
		t.Fatal("errors.Is does not see the code")
	}
	var pe *ptel.Error
	if !errors.As(wrapped, &pe) || pe.Offset != 17 {
		t.Fatal("errors.As")
	}
}

func TestReasons(t *testing.T) {
	rs := ptel.Reasons()
	eq(t, "count", len(rs), 33)
	eq(t, "first", rs[0], ptel.ReasonMalformed)
	eq(t, "name", ptel.ReasonTraceIDMismatch.String(), "trace_id_mismatch")
	eq(t, "message", ptel.ReasonUTF8.Message(), "invalid UTF-8")
	eq(t, "last", rs[len(rs)-1].String(), "invalid_link")
	eq(t, "none", ptel.ReasonNone.String(), "unknown")
	eq(t, "none message", ptel.Reason(99).Message(), "unknown reason")
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.String()] {
			t.Fatalf("duplicate reason name %s", r)
		}
		seen[r.String()] = true
	}
	eq(t, "core version", ptel.CoreVersion, "0.1.0")
}

func TestValuesAreImmutableCopies(t *testing.T) {
	b := []byte{1, 2}
	ss := []string{"a"}
	bs := []bool{true}
	is := []int64{1}
	fs := []float64{1}
	vs := []ptel.Value{ptel.IntValue(1)}
	kvs := []ptel.KeyValue{ptel.Int("k", 1)}
	all := []ptel.KeyValue{ptel.Bytes("b", b), ptel.StringSlice("s", ss), ptel.BoolSlice("bs", bs),
		ptel.Int64Slice("is", is), ptel.Float64Slice("fs", fs), ptel.Slice("vs", vs...),
		ptel.Map("m", kvs...)}
	b[0], ss[0], bs[0], is[0], fs[0], vs[0], kvs[0] = 9, "z", false, 9, 9, ptel.IntValue(9), ptel.Int("z", 9)
	eqBytes(t, "bytes", all[0].Value.AsBytes(), []byte{1, 2})
	eq(t, "strings", all[1].Value.AsStringSlice()[0], "a")
	eq(t, "bools", all[2].Value.AsBoolSlice()[0], true)
	eq(t, "ints", all[3].Value.AsInt64Slice()[0], 1)
	eq(t, "floats", all[4].Value.AsFloat64Slice()[0], 1)
	eq(t, "values", all[5].Value.AsSlice()[0].AsInt64(), 1)
	eq(t, "map", all[6].Value.AsMap()[0].Key, "k")
	// Accessors of the wrong kind return zero values.
	v := ptel.StringValue("s")
	eq(t, "kind", v.Kind(), ptel.KindString)
	eq(t, "as bool", v.AsBool(), false)
	eq(t, "as int", v.AsInt64(), 0)
	eq(t, "as float", v.AsFloat64(), 0)
	eq(t, "as string of int", ptel.IntValue(1).AsString(), "")
	if v.AsBytes() != nil || v.AsStringSlice() != nil || v.AsMap() != nil {
		t.Fatal("wrong-kind accessors must return nil")
	}
	eq(t, "empty slice", len(ptel.StringSliceValue(nil).AsStringSlice()), 0)
	eq(t, "empty kind", ptel.Value{}.Kind(), ptel.KindEmpty)
	eq(t, "empty string value", ptel.StringValue("").AsString(), "")
}

func TestFromOpenTelemetryAttributes(t *testing.T) {
	otel := []attribute.KeyValue{
		attribute.Bool("b", true),
		attribute.Int64("i", -3),
		attribute.Float64("f", 1.5),
		attribute.String("s", "x"),
		attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Int64Slice("is", []int64{1, 2}),
		attribute.Float64Slice("fs", []float64{0.5}),
		attribute.StringSlice("ss", []string{"a", "b"}),
		attribute.ByteSlice("raw", []byte{7, 8}),
		attribute.Slice("any", attribute.StringValue("q"), attribute.IntValue(4)),
		attribute.Map("m", attribute.String("k", "v")),
		{Key: "empty"},
	}
	want := []ptel.KeyValue{
		ptel.Bool("b", true),
		ptel.Int64("i", -3),
		ptel.Float64("f", 1.5),
		ptel.String("s", "x"),
		ptel.BoolSlice("bs", []bool{true, false}),
		ptel.Int64Slice("is", []int64{1, 2}),
		ptel.Float64Slice("fs", []float64{0.5}),
		ptel.StringSlice("ss", []string{"a", "b"}),
		ptel.Bytes("raw", []byte{7, 8}),
		ptel.Slice("any", ptel.StringValue("q"), ptel.Int64Value(4)),
		ptel.Map("m", ptel.String("k", "v")),
		ptel.Empty("empty"),
	}
	got := ptel.FromAttributes(otel...)
	sameKeyValues(t, "converted", keyValues(got...), keyValues(want...))
	// And through a recording: the payload holds the same AnyValues.
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	_, s := f.rec.Start(bg, "s")
	s.SetAttributes(got...)
	s.End()
	sameKeyValues(t, "recorded", decodeTelemetry(t, f.finish()).Spans[0].Attributes, keyValues(want...))
}
