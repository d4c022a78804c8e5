package ptel

import (
	"math"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
)

// Kind is the type of a Value. The kinds and their order mirror
// go.opentelemetry.io/otel/attribute.Type, which has bytes, slices of values
// and maps as well, so every OTLP AnyValue can be expressed.
type Kind uint8

// Value kinds.
const (
	KindEmpty Kind = iota
	KindBool
	KindInt64
	KindFloat64
	KindString
	KindBoolSlice
	KindInt64Slice
	KindFloat64Slice
	KindStringSlice
	KindBytes
	KindSlice // []Value
	KindMap   // []KeyValue
)

// Value is an immutable attribute value. Constructors copy slices, so a
// caller may reuse its slices afterwards; strings are immutable and are
// referenced. The zero Value is the empty value.
type Value struct {
	p    unsafe.Pointer // string bytes or slice elements
	n    uint64         // bool, int64 or float64 bits; or the length of p
	kind Kind
}

// KeyValue is an attribute: a key and its value.
type KeyValue struct {
	Key   string
	Value Value
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// AsBool returns the bool of a KindBool value (false otherwise).
func (v Value) AsBool() bool { return v.kind == KindBool && v.n != 0 }

// AsInt64 returns the integer of a KindInt64 value (0 otherwise).
func (v Value) AsInt64() int64 {
	if v.kind != KindInt64 {
		return 0
	}
	return int64(v.n)
}

// AsFloat64 returns the number of a KindFloat64 value (0 otherwise).
func (v Value) AsFloat64() float64 {
	if v.kind != KindFloat64 {
		return 0
	}
	return math.Float64frombits(v.n)
}

// AsString returns the string of a KindString value ("" otherwise).
func (v Value) AsString() string {
	if v.kind != KindString {
		return ""
	}
	return v.str()
}

// AsBytes returns a copy of the bytes of a KindBytes value (nil otherwise).
func (v Value) AsBytes() []byte {
	if v.kind != KindBytes {
		return nil
	}
	return []byte(v.str())
}

// AsBoolSlice returns a copy of a KindBoolSlice value (nil otherwise).
func (v Value) AsBoolSlice() []bool { return sliceCopy[bool](v, KindBoolSlice) }

// AsInt64Slice returns a copy of a KindInt64Slice value (nil otherwise).
func (v Value) AsInt64Slice() []int64 { return sliceCopy[int64](v, KindInt64Slice) }

// AsFloat64Slice returns a copy of a KindFloat64Slice value (nil otherwise).
func (v Value) AsFloat64Slice() []float64 { return sliceCopy[float64](v, KindFloat64Slice) }

// AsStringSlice returns a copy of a KindStringSlice value (nil otherwise).
func (v Value) AsStringSlice() []string { return sliceCopy[string](v, KindStringSlice) }

// AsSlice returns a copy of a KindSlice value (nil otherwise).
func (v Value) AsSlice() []Value { return sliceCopy[Value](v, KindSlice) }

// AsMap returns a copy of a KindMap value's entries in the order given
// (nil otherwise).
func (v Value) AsMap() []KeyValue { return sliceCopy[KeyValue](v, KindMap) }

func (v Value) str() string {
	if v.n == 0 {
		return ""
	}
	return unsafe.String((*byte)(v.p), int(v.n))
}

func sliceView[T any](v Value) []T {
	if v.n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(v.p), int(v.n))
}

func sliceCopy[T any](v Value, k Kind) []T {
	if v.kind != k {
		return nil
	}
	return append([]T{}, sliceView[T](v)...)
}

func sliceValue[T any](k Kind, s []T) Value {
	if len(s) == 0 {
		return Value{kind: k}
	}
	c := append([]T(nil), s...)
	return Value{p: unsafe.Pointer(unsafe.SliceData(c)), n: uint64(len(c)), kind: k}
}

// BoolValue returns a bool Value.
func BoolValue(b bool) Value {
	var n uint64
	if b {
		n = 1
	}
	return Value{n: n, kind: KindBool}
}

// Int64Value returns an integer Value.
func Int64Value(i int64) Value { return Value{n: uint64(i), kind: KindInt64} }

// IntValue returns an integer Value.
func IntValue(i int) Value { return Int64Value(int64(i)) }

// Float64Value returns a floating-point Value.
func Float64Value(f float64) Value { return Value{n: math.Float64bits(f), kind: KindFloat64} }

// StringValue returns a string Value. The string must be UTF-8: the
// recorder drops (and counts) attributes holding invalid UTF-8.
func StringValue(s string) Value {
	return Value{p: unsafe.Pointer(unsafe.StringData(s)), n: uint64(len(s)), kind: KindString}
}

// BytesValue returns a bytes Value holding a copy of b.
func BytesValue(b []byte) Value {
	s := string(b)
	return Value{p: unsafe.Pointer(unsafe.StringData(s)), n: uint64(len(s)), kind: KindBytes}
}

// BoolSliceValue returns a Value holding a copy of s.
func BoolSliceValue(s []bool) Value { return sliceValue(KindBoolSlice, s) }

// Int64SliceValue returns a Value holding a copy of s.
func Int64SliceValue(s []int64) Value { return sliceValue(KindInt64Slice, s) }

// Float64SliceValue returns a Value holding a copy of s.
func Float64SliceValue(s []float64) Value { return sliceValue(KindFloat64Slice, s) }

// StringSliceValue returns a Value holding a copy of s.
func StringSliceValue(s []string) Value { return sliceValue(KindStringSlice, s) }

// SliceValue returns an array Value (OTLP ArrayValue) of any values.
func SliceValue(vs ...Value) Value { return sliceValue(KindSlice, vs) }

// MapValue returns a map Value (OTLP KeyValueList). Keys must be unique and
// non-empty, else the recorder drops the attribute holding it.
func MapValue(kvs ...KeyValue) Value { return sliceValue(KindMap, kvs) }

// Bool returns a bool attribute.
func Bool(k string, v bool) KeyValue { return KeyValue{k, BoolValue(v)} }

// Int returns an integer attribute.
func Int(k string, v int) KeyValue { return KeyValue{k, IntValue(v)} }

// Int64 returns an integer attribute.
func Int64(k string, v int64) KeyValue { return KeyValue{k, Int64Value(v)} }

// Float64 returns a floating-point attribute.
func Float64(k string, v float64) KeyValue { return KeyValue{k, Float64Value(v)} }

// String returns a string attribute.
func String(k, v string) KeyValue { return KeyValue{k, StringValue(v)} }

// Bytes returns a bytes attribute holding a copy of v.
func Bytes(k string, v []byte) KeyValue { return KeyValue{k, BytesValue(v)} }

// BoolSlice returns an attribute holding a copy of v.
func BoolSlice(k string, v []bool) KeyValue { return KeyValue{k, BoolSliceValue(v)} }

// Int64Slice returns an attribute holding a copy of v.
func Int64Slice(k string, v []int64) KeyValue { return KeyValue{k, Int64SliceValue(v)} }

// Float64Slice returns an attribute holding a copy of v.
func Float64Slice(k string, v []float64) KeyValue { return KeyValue{k, Float64SliceValue(v)} }

// StringSlice returns an attribute holding a copy of v.
func StringSlice(k string, v []string) KeyValue { return KeyValue{k, StringSliceValue(v)} }

// Slice returns an array attribute of any values.
func Slice(k string, vs ...Value) KeyValue { return KeyValue{k, SliceValue(vs...)} }

// Map returns a map attribute (OTLP KeyValueList).
func Map(k string, kvs ...KeyValue) KeyValue { return KeyValue{k, MapValue(kvs...)} }

// Empty returns an attribute with the empty value (an AnyValue with no
// member set).
func Empty(k string) KeyValue { return KeyValue{Key: k} }

// FromAttribute converts an OpenTelemetry attribute, of any type, including
// bytes, slices and maps.
func FromAttribute(kv attribute.KeyValue) KeyValue {
	return KeyValue{Key: string(kv.Key), Value: FromAttributeValue(kv.Value)}
}

// FromAttributes converts OpenTelemetry attributes.
func FromAttributes(kvs ...attribute.KeyValue) []KeyValue {
	out := make([]KeyValue, len(kvs))
	for k, kv := range kvs {
		out[k] = FromAttribute(kv)
	}
	return out
}

// FromAttributeValue converts an OpenTelemetry attribute value.
func FromAttributeValue(v attribute.Value) Value {
	switch v.Type() {
	case attribute.BOOL:
		return BoolValue(v.AsBool())
	case attribute.INT64:
		return Int64Value(v.AsInt64())
	case attribute.FLOAT64:
		return Float64Value(v.AsFloat64())
	case attribute.STRING:
		return StringValue(v.AsString())
	case attribute.BOOLSLICE:
		return BoolSliceValue(v.AsBoolSlice())
	case attribute.INT64SLICE:
		return Int64SliceValue(v.AsInt64Slice())
	case attribute.FLOAT64SLICE:
		return Float64SliceValue(v.AsFloat64Slice())
	case attribute.STRINGSLICE:
		return StringSliceValue(v.AsStringSlice())
	case attribute.BYTESLICE:
		return BytesValue(v.AsByteSlice())
	case attribute.SLICE:
		in := v.AsSlice()
		out := make([]Value, len(in))
		for k := range in {
			out[k] = FromAttributeValue(in[k])
		}
		return SliceValue(out...)
	case attribute.MAP:
		return MapValue(FromAttributes(v.AsMap()...)...)
	default:
		return Value{}
	}
}
