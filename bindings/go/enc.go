package ptel

import (
	"encoding/binary"
	"math"
	"slices"
	"unsafe"
)

// The flat record format shared with the gop_* helpers in cgo.go's preamble.
// Little-endian fixed-width integers; a string is u32 length + bytes. Every
// record starts with a header of five u32 counts (ptel_attr, ptel_value,
// ptel_event_data, ptel_link_data, ptel_str structures the C side must lay
// out), patched in when the record is complete.
//
//	value  = u8 type, then STRING/BYTES: str | BOOL/INT: u64 | DOUBLE: u64 bits
//	         | ARRAY: u32 n, n values | KVLIST: u32 n, n attrs | EMPTY: nothing
//	attr   = str key, value
//	attrs  = u32 n, u32 extra (dropped on the Go side), n attrs

// Value type tags: the core's ptel_value_type.
const (
	tagEmpty  = cValueEmpty
	tagString = cValueString
	tagBool   = cValueBool
	tagInt    = cValueInt
	tagDouble = cValueDouble
	tagBytes  = cValueBytes
	tagArray  = cValueArray
	tagKVList = cValueKVList
)

// maxDepth bounds the nesting the encoder writes; deeper values become
// empty (the recorder empties anything deeper than its attribute_depth
// limit anyway). It matches GOP_MAX_DEPTH in the preamble.
const maxDepth = 64

type enc struct {
	b                  []byte
	na, nv, ne, nl, ns uint32
}

func (e *enc) reset() {
	e.b = append(e.b[:0], make([]byte, 20)...)
	e.na, e.nv, e.ne, e.nl, e.ns = 0, 0, 0, 0, 0
}

// done patches the header and returns the record.
func (e *enc) done() []byte {
	binary.LittleEndian.PutUint32(e.b[0:], e.na)
	binary.LittleEndian.PutUint32(e.b[4:], e.nv)
	binary.LittleEndian.PutUint32(e.b[8:], e.ne)
	binary.LittleEndian.PutUint32(e.b[12:], e.nl)
	binary.LittleEndian.PutUint32(e.b[16:], e.ns)
	return e.b
}

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

func (e *enc) str(s string) { e.b = appendStr(e.b, s) }

// appendStr appends a string as u32 length + bytes. The hot paths below
// work on a local slice and store it back once: appending to e.b directly
// reloads and stores the slice header (a heap pointer) for every field.
func appendStr(b []byte, s string) []byte {
	if uint64(len(s)) > math.MaxUint32 {
		s = "" // cannot be represented; the C side sees an empty string
	}
	n := len(s)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	if n < 4 || n > 16 {
		return append(b, s...)
	}
	o := len(b)
	b = slices.Grow(b, n)[:o+n]
	copyStr(b[o:], s)
	return b
}

// copyStr copies s to the start of dst, which must hold it. Keys and short
// values (most of them) go by two overlapping 4- or 8-byte moves inside s
// instead of a call to memmove.
func copyStr(dst []byte, s string) {
	n := len(s)
	if n < 4 || n > 16 {
		copy(dst, s)
		return
	}
	// Read and written in one byte order: a copy on any CPU.
	src, le := unsafe.Slice(unsafe.StringData(s), n), binary.LittleEndian
	dst = dst[:n]
	if n >= 8 {
		le.PutUint64(dst, le.Uint64(src))
		le.PutUint64(dst[n-8:], le.Uint64(src[n-8:]))
	} else {
		le.PutUint32(dst, le.Uint32(src))
		le.PutUint32(dst[n-4:], le.Uint32(src[n-4:]))
	}
}

// scalarTag maps the kinds stored in Value.n to their record tags.
var scalarTag = [...]uint8{KindBool: tagBool, KindInt64: tagInt, KindFloat64: tagDouble, KindString: tagString}

func (e *enc) value(v *Value, depth int) {
	if depth > maxDepth {
		e.u8(tagEmpty)
		return
	}
	switch v.kind {
	case KindBool:
		e.u8(tagBool)
		e.u64(v.n)
	case KindInt64:
		e.u8(tagInt)
		e.u64(v.n)
	case KindFloat64:
		e.u8(tagDouble)
		e.u64(v.n)
	case KindString:
		e.u8(tagString)
		e.str(v.str())
	case KindBytes:
		e.u8(tagBytes)
		e.str(v.str())
	case KindBoolSlice:
		s := sliceView[bool](*v)
		e.array(len(s))
		for _, b := range s {
			e.u8(tagBool)
			if b {
				e.u64(1)
			} else {
				e.u64(0)
			}
		}
	case KindInt64Slice:
		s := sliceView[int64](*v)
		e.array(len(s))
		for _, i := range s {
			e.u8(tagInt)
			e.u64(uint64(i))
		}
	case KindFloat64Slice:
		s := sliceView[float64](*v)
		e.array(len(s))
		for _, f := range s {
			e.u8(tagDouble)
			e.u64(math.Float64bits(f))
		}
	case KindStringSlice:
		s := sliceView[string](*v)
		e.array(len(s))
		for _, x := range s {
			e.u8(tagString)
			e.str(x)
		}
	case KindSlice:
		s := sliceView[Value](*v)
		e.array(len(s))
		for k := range s {
			e.value(&s[k], depth+1)
		}
	case KindMap:
		s := sliceView[KeyValue](*v)
		e.u8(tagKVList)
		e.u32(uint32(len(s)))
		e.na += uint32(len(s))
		for k := range s {
			e.attr(&s[k], depth+1)
		}
	default:
		e.u8(tagEmpty)
	}
}

func (e *enc) array(n int) {
	e.u8(tagArray)
	e.u32(uint32(n))
	e.nv += uint32(n)
}

func (e *enc) attr(kv *KeyValue, depth int) {
	e.str(kv.Key)
	e.value(&kv.Value, depth)
}

// attrs writes an attribute list and the count of attributes dropped on
// the Go side.
func (e *enc) attrs(kvs []KeyValue, extra uint32) {
	b := binary.LittleEndian.AppendUint32(e.b, uint32(len(kvs)))
	b = binary.LittleEndian.AppendUint32(b, extra)
	e.na += uint32(len(kvs))
	for k := range kvs {
		var na, nv uint32
		b, na, nv = appendAttr(b, &kvs[k])
		e.na += na
		e.nv += nv
	}
	e.b = b
}

// appendAttr appends one attribute and returns the nested ptel_attr and
// ptel_value structures it adds. Scalars and strings, the common case,
// nest nothing and are written with one capacity check at fixed offsets;
// other kinds go through value.
func appendAttr(b []byte, kv *KeyValue) ([]byte, uint32, uint32) {
	kind := kv.Value.kind
	if kind >= KindBool && kind <= KindString && uint64(len(kv.Key)) <= math.MaxUint32 &&
		(kind != KindString || kv.Value.n <= math.MaxUint32) {
		k, le := kv.Key, binary.LittleEndian
		vn := 8
		if kind == KindString {
			vn = 4 + int(kv.Value.n)
		}
		o, need := len(b), 4+len(k)+1+vn
		b = slices.Grow(b, need)[:o+need]
		w := b[o:]
		le.PutUint32(w, uint32(len(k)))
		copyStr(w[4:], k)
		n := 4 + len(k)
		if kind == KindString {
			w[n] = tagString
			le.PutUint32(w[n+1:], uint32(kv.Value.n))
			copyStr(w[n+5:], kv.Value.str())
		} else {
			w[n] = scalarTag[kind]
			le.PutUint64(w[n+1:], kv.Value.n)
		}
		return b, 0, 0
	}
	e := enc{b: b}
	e.attr(kv, 0)
	return e.b, e.na, e.nv
}
