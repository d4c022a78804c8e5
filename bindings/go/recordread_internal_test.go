package ptel

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// The preamble reads a span record with one bounds check per scalar or
// string attribute (gop_rd_attr_fast) and falls back to reading field by
// field: a record cut anywhere, or with a key or string length past its
// end, is refused before the core sees it, and the intact record is kept.
func TestSpanRecordReaderRefusesCutAndOverlongEntries(t *testing.T) {
	c, err := NewContext(ContextFields{
		TraceID:    trace.TraceID{1, 2, 3},
		SpanID:     trace.SpanID{4, 5, 6},
		TraceFlags: 1,
		Decision:   DecisionRecordAndSample,
		TimeBase:   1_000_000_000_000,
		PluginName: "p",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRecorder(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, s := r.Start(context.Background(), "s")
	s.SetAttributes(String("str", "v"), String("", ""), Int("i", -7), Bool("b", true),
		Float64("f", 0.5), Int64Slice("n", []int64{1}), String("last", "xyz"))
	rec := slices.Clone(r.encodeSpan(s.d, r.now()))

	record := func(b []byte) int32 { return cSpanRecord(r.c, slices.Clone(b), false) }
	for n := range len(rec) {
		if rc := record(rec[:n]); rc != cEInvalidArgument {
			t.Fatalf("record cut to %d of %d bytes: rc %d", n, len(rec), rc)
		}
	}
	// The first attribute's entry: header (20), ids (16), times (16), kind
	// and status (8), name "s" (5), description "" (4), count and extra (8).
	const first = 20 + 16 + 16 + 8 + 5 + 4 + 8
	if got := binary.LittleEndian.Uint32(rec[first:]); got != 3 {
		t.Fatalf("first key length %d, want 3: the record layout moved", got)
	}
	for _, bad := range []struct {
		at  int
		val uint32
	}{
		{first, 0xFFFFFFFF},                   // key length
		{first, uint32(len(rec) - first - 4)}, // key to the end: no tag left
		{first + 4 + 3 + 1, 0xFFFFFFFF},       // string length
		{first + 4 + 3 + 1, uint32(len(rec))}, // string past the end
	} {
		b := slices.Clone(rec)
		binary.LittleEndian.PutUint32(b[bad.at:], bad.val)
		if rc := record(b); rc != cEInvalidArgument {
			t.Errorf("length %#x at %d: rc %d", bad.val, bad.at, rc)
		}
	}
	if rc := record(rec); rc != 0 {
		t.Fatalf("intact record: rc %d", rc)
	}
	if out, err := r.Finish(); err != nil || len(out) == 0 {
		t.Fatalf("finish: %d bytes, %v", len(out), err)
	}
}

// copyStr moves 4 to 16 bytes by two overlapping words: every length
// copies exactly s, and nothing after it.
func TestCopyStrEveryLength(t *testing.T) {
	const src = "abcdefghijklmnopqrstu"
	for n := range len(src) {
		dst := []byte("......................")
		copyStr(dst, src[:n])
		if want := src[:n] + "......................"[n:]; string(dst) != want {
			t.Errorf("length %d: %q, want %q", n, dst, want)
		}
	}
}
