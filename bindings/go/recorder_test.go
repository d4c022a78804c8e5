package ptel_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

var bg = context.Background()

func id8(last byte) []byte { return []byte{0, 0, 0, 0, 0, 0, 0, last} }

// every attribute kind, nested
func everyKind() []ptel.KeyValue {
	return []ptel.KeyValue{
		ptel.String("str", "héllo"),
		ptel.Bool("yes", true),
		ptel.Bool("no", false),
		ptel.Int("int", -42),
		ptel.Int64("big", math.MaxInt64),
		ptel.Float64("pi", 3.25),
		ptel.Bytes("raw", []byte{0, 1, 2, 0xff}),
		ptel.BoolSlice("bools", []bool{true, false}),
		ptel.Int64Slice("ints", []int64{1, -2, 3}),
		ptel.Float64Slice("floats", []float64{0.5, -1}),
		ptel.StringSlice("strs", []string{"a", "", "c"}),
		ptel.Slice("mixed", ptel.StringValue("x"), ptel.Int64Value(7), ptel.SliceValue(ptel.BoolValue(true))),
		ptel.Map("map", ptel.String("k", "v"), ptel.Map("inner", ptel.Int("n", 1))),
		ptel.Empty("nothing"),
	}
}

func TestSpansDecodedWithOTLPTypes(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	ctx, root := f.rec.Start(bg, "root", ptel.WithSpanKind(ptel.SpanKindServer),
		ptel.WithAttributes(ptel.String("start.attr", "x")))
	f.clock.Set(100)
	ctx2, child := f.rec.Start(ctx, "child", ptel.WithSpanKind(ptel.SpanKindClient))
	child.SetAttributes(everyKind()...)
	f.clock.Set(150)
	child.AddEvent("ev", ptel.Int("i", 1))
	child.AddEventAt("ev2", time.Unix(0, fxTimeBase+120))
	ts, _ := trace.ParseTraceState("a=1,b=2")
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: mustTraceID("0102030405060708090a0b0c0d0e0f10"),
		SpanID: mustSpanID("1112131415161718"), TraceFlags: 1, TraceState: ts, Remote: true})
	child.AddLink(ptel.Link{SpanContext: linked, Attributes: []ptel.KeyValue{ptel.String("why", "batch")}})
	child.SetStatus(ptel.StatusError, "bad")
	child.SetName("child2")
	f.clock.Set(200)
	child.End()
	_, gc := f.rec.Start(ctx2, "grandchild")
	gc.End(ptel.WithEndTime(time.Unix(0, fxTimeBase+250)))
	root.SetStatus(ptel.StatusOK, "ignored for OK")
	root.SetStatus(ptel.StatusError, "ignored: OK is final")
	f.clock.Set(300)
	root.End()

	tel := decodeTelemetry(t, f.finish())
	eq(t, "version", tel.Version, 1)
	eq(t, "spans", len(tel.Spans), 3)
	eq(t, "open spans", len(tel.Open), 0)
	eq(t, "drops", tel.Dropped, ptel.DropCounts{})
	// Spans are written in the order they ended.
	c, g, r := tel.Spans[0], tel.Spans[1], tel.Spans[2]
	for _, s := range tel.Spans {
		eqBytes(t, s.Name+" trace id", s.TraceId, fxTraceID[:])
		eq(t, s.Name+" trace state", s.TraceState, "")
	}
	eq(t, "names", c.Name+","+g.Name+","+r.Name, "child2,grandchild,root")
	eqBytes(t, "root id", r.SpanId, id8(1))
	eqBytes(t, "child id", c.SpanId, id8(2))
	eqBytes(t, "grandchild id", g.SpanId, id8(3))
	eqBytes(t, "root parent", r.ParentSpanId, fxSpanID[:])
	eqBytes(t, "child parent", c.ParentSpanId, id8(1))
	eqBytes(t, "grandchild parent", g.ParentSpanId, id8(2))
	eq(t, "root kind", r.Kind, tracepb.Span_SPAN_KIND_SERVER)
	eq(t, "child kind", c.Kind, tracepb.Span_SPAN_KIND_CLIENT)
	eq(t, "grandchild kind", g.Kind, tracepb.Span_SPAN_KIND_INTERNAL)
	eq(t, "root start", r.StartTimeUnixNano, fxTimeBase)
	eq(t, "root end", r.EndTimeUnixNano, fxTimeBase+300)
	eq(t, "child start", c.StartTimeUnixNano, fxTimeBase+100)
	eq(t, "child end", c.EndTimeUnixNano, fxTimeBase+200)
	eq(t, "grandchild start", g.StartTimeUnixNano, fxTimeBase+200)
	eq(t, "grandchild end", g.EndTimeUnixNano, fxTimeBase+250)
	// Flags: sampled, has-is-remote, and is-remote for the root (its parent
	// is the host's, remote) only.
	eq(t, "root flags", r.Flags, 0x301)
	eq(t, "child flags", c.Flags, 0x101)
	sameKeyValues(t, "root attributes", r.Attributes, keyValues(ptel.String("start.attr", "x")))
	sameKeyValues(t, "child attributes", c.Attributes, keyValues(everyKind()...))
	eq(t, "grandchild attributes", len(g.Attributes), 0)
	eq(t, "events", len(c.Events), 2)
	eq(t, "event name", c.Events[0].Name, "ev")
	eq(t, "event time", c.Events[0].TimeUnixNano, fxTimeBase+150)
	sameKeyValues(t, "event attributes", c.Events[0].Attributes, keyValues(ptel.Int("i", 1)))
	eq(t, "event2 time", c.Events[1].TimeUnixNano, fxTimeBase+120)
	eq(t, "links", len(c.Links), 1)
	l := c.Links[0]
	ltid, lsid := linked.TraceID(), linked.SpanID()
	eqBytes(t, "link trace", l.TraceId, ltid[:])
	eqBytes(t, "link span", l.SpanId, lsid[:])
	eq(t, "link state", l.TraceState, "a=1,b=2")
	eq(t, "link flags", l.Flags, 0x301)
	sameKeyValues(t, "link attributes", l.Attributes, keyValues(ptel.String("why", "batch")))
	eq(t, "child status", c.Status.GetCode(), tracepb.Status_STATUS_CODE_ERROR)
	eq(t, "child status message", c.Status.GetMessage(), "bad")
	eq(t, "root status", r.Status.GetCode(), tracepb.Status_STATUS_CODE_OK)
	eq(t, "root status message", r.Status.GetMessage(), "")
	if g.Status != nil {
		t.Fatalf("grandchild status = %v, want none", g.Status)
	}
}

func TestOpenSpansAreReportedAtFinish(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	ctx, a := f.rec.Start(bg, "a")
	f.clock.Set(5)
	_, b := f.rec.Start(ctx, "b")
	b.SetAttributes(ptel.Int("n", 1))
	b.AddEvent("e")
	b.SetStatus(ptel.StatusError, "stuck")
	ctx2, c := f.rec.Start(ctx, "c")
	c.End()
	_, d := f.rec.Start(ctx2, "d") // child of an ended span, left open
	_ = a
	_ = d
	tel := decodeTelemetry(t, f.finish())
	eq(t, "ended", len(tel.Spans), 1)
	eq(t, "open", len(tel.Open), 3)
	// Open spans come in start order, without an end time.
	eq(t, "open order", tel.Open[0].Name+tel.Open[1].Name+tel.Open[2].Name, "abd")
	for _, s := range tel.Open {
		eq(t, s.Name+" end", s.EndTimeUnixNano, 0)
	}
	eqBytes(t, "b parent", tel.Open[1].ParentSpanId, id8(1))
	eqBytes(t, "d parent", tel.Open[2].ParentSpanId, id8(3))
	eq(t, "b start", tel.Open[1].StartTimeUnixNano, fxTimeBase+5)
	sameKeyValues(t, "b attributes", tel.Open[1].Attributes, keyValues(ptel.Int("n", 1)))
	eq(t, "b events", len(tel.Open[1].Events), 1)
	eq(t, "b status", tel.Open[1].Status.GetMessage(), "stuck")
	// After Finish, spans are inert and the payload does not change.
	again, err := f.rec.Finish()
	mustNoErr(t, err)
	b.End()
	c.SetAttributes(ptel.Int("late", 1))
	again2, err := f.rec.Finish()
	mustNoErr(t, err)
	eqBytes(t, "finish twice", again2, again)
	if b.IsRecording() {
		t.Fatal("span records after Finish")
	}
}

func TestOneCrossingPerSpan(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	ctx, parent := f.rec.Start(bg, "warm")
	parent.End()
	i := 0
	eq(t, "cgo calls per span", fewestCgoCalls(func() {
		_, s := f.rec.Start(ctx, "op", ptel.WithSpanKind(ptel.SpanKindClient))
		s.SetAttributes(ptel.String("a", "b"), ptel.Int("n", i), ptel.Bool("ok", true))
		s.AddEvent("e", ptel.Int("k", 1))
		s.SetStatus(ptel.StatusError, "x")
		s.End()
		i++
	}), 1)
}

func TestDisabledPathNeverCallsC(t *testing.T) {
	f := newFixture(t, ptel.DecisionDrop, false)
	if f.rec.IsRecording() {
		t.Fatal("recording under DROP")
	}
	var ctx context.Context
	var s ptel.Span
	eq(t, "cgo calls", fewestCgoCalls(func() {
		ctx, s = f.rec.Start(bg, "never", ptel.WithSpanKind(ptel.SpanKindServer))
		s.SetAttributes(ptel.String("a", "b"))
		s.AddEvent("e")
		s.AddLink(ptel.Link{})
		s.SetStatus(ptel.StatusError, "x")
		s.RecordError(errors.New("boom"))
		s.SetName("n")
		s.End()
	}), 0)
	if ctx != bg {
		t.Fatal("disabled Start must return ctx unchanged")
	}
	if s.IsRecording() {
		t.Fatal("disabled span records")
	}
	// The non-recording span propagates the context's span.
	sc := s.SpanContext()
	eq(t, "trace id", sc.TraceID(), fxTraceID)
	eq(t, "span id", sc.SpanID(), fxSpanID)
	eq(t, "sampled", sc.IsSampled(), false)
	allocs := testing.AllocsPerRun(100, func() {
		_, s := f.rec.Start(bg, "never")
		s.End()
	})
	eq(t, "allocations", allocs, 0)
	// Metrics do not depend on the trace decision.
	f.rec.Int64Counter("still.counted").Add(bg, 3)
	tel := decodeTelemetry(t, f.finish())
	eq(t, "spans", len(tel.Spans), 0)
	eq(t, "metrics", len(tel.Metrics), 1)
	eq(t, "sum", tel.Metrics[0].GetSum().DataPoints[0].GetAsInt(), 3)
}

func TestNilAndZeroValuesDoNothing(t *testing.T) {
	var r *ptel.Recorder
	ctx, s := r.Start(bg, "x")
	if ctx != bg || s.IsRecording() {
		t.Fatal("nil recorder recorded")
	}
	s.End()
	s.SetAttributes(ptel.Int("a", 1))
	eq(t, "nil span context valid", s.SpanContext().IsValid(), false)
	if _, err := r.Finish(); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil Finish: %v", err)
	}
	if err := r.Reset(nil); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil Reset: %v", err)
	}
	r.Close()
	eq(t, "nil recording", r.IsRecording(), false)
	eq(t, "nil drops", r.Drops(), ptel.DropCounts{})
	eq(t, "nil err", r.Err(), nil)
	eq(t, "nil now", r.Now().IsZero(), true)
	if r.Context() != nil {
		t.Fatal("nil recorder has a context")
	}
	r.Int64Counter("x").Add(bg, 1)
	var zero ptel.Span
	zero.End()
	zero.AddEvent("e")
	zero.RecordException("t", "m", "s")
	eq(t, "zero span recording", zero.IsRecording(), false)
	var c *ptel.Int64Counter
	c.Add(bg, 1)
	var h *ptel.Float64Histogram
	h.Record(bg, 1)
	if _, err := ptel.NewRecorder(nil, nil); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("NewRecorder(nil): %v", err)
	}
	eq(t, "span from nil ctx", ptel.SpanFromContext(nil).IsRecording(), false) //nolint:staticcheck
	eq(t, "span from empty ctx", ptel.SpanFromContext(bg).IsRecording(), false)
}

func TestMisuseIsCountedNotFatal(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	_, s := f.rec.Start(bg, "s")
	s.End()
	s.End()                                                   // error 1
	s.SetAttributes(ptel.Int("late", 1))                      // error 2
	s.SetStatus(ptel.StatusOK, "")                            // error 3
	_, k := f.rec.Start(bg, "bad kind", ptel.WithSpanKind(9)) // error 4, non-recording
	eq(t, "bad kind records", k.IsRecording(), false)
	_, o := f.rec.Start(bg, "o")
	o.AddLink(ptel.Link{})              // error 5: invalid span context
	o.SetStatus(ptel.StatusCode(7), "") // error 6
	o.End(ptel.WithEndTime(time.Unix(0, fxTimeBase-10)))
	// The core counts the seventh: an end before the start is clamped.
	eq(t, "drops before finish", f.rec.Drops().Errors, 7)
	tel := decodeTelemetry(t, f.finish())
	eq(t, "payload errors", tel.Dropped.Errors, 7)
	eq(t, "clamped end", tel.span(t, "o").EndTimeUnixNano, fxTimeBase)
	eq(t, "spans", len(tel.Spans), 2)
	eq(t, "drops after finish", f.rec.Drops().Errors, 7)
}

func TestStrictModeKeepsFirstError(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, true)
	_, s := f.rec.Start(bg, "s")
	s.End()
	s.End()
	f.rec.Int64Counter("1bad")
	err := f.rec.Err()
	if !errors.Is(err, ptel.ErrState) {
		t.Fatalf("Err() = %v, want ErrState", err)
	}
	var pe *ptel.Error
	if !errors.As(err, &pe) || pe.Op != "end span" {
		t.Fatalf("Err() = %#v", err)
	}
	g := newFixture(t, ptel.DecisionRecordAndSample, true)
	g.rec.Int64Counter("1bad")
	if !errors.Is(g.rec.Err(), ptel.ErrName) {
		t.Fatalf("Err() = %v, want ErrName", g.rec.Err())
	}
	eq(t, "non-strict Err", newFixture(t, ptel.DecisionDrop, false).rec.Err(), nil)
}

func TestSpanLimitAtStart(t *testing.T) {
	c, err := ptel.NewContext(func() ptel.ContextFields {
		f := fxFields(ptel.DecisionRecordAndSample)
		f.Limits.SpanCount = 2
		return f
	}())
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(c, &ptel.RecorderOptions{Clock: ptel.NewManualClock(fxTimeBase), IDs: &counterIDs{}})
	mustNoErr(t, err)
	defer rec.Close()
	_, a := rec.Start(bg, "a")
	_, b := rec.Start(bg, "b")
	ctx, over := rec.Start(bg, "over")
	_, child := rec.Start(ctx, "child of refused")
	eq(t, "over records", over.IsRecording(), false)
	eq(t, "child records", child.IsRecording(), false)
	eq(t, "child propagates the context span", child.SpanContext().SpanID(), fxSpanID)
	b.End()
	a.End()
	out, err := rec.Finish()
	mustNoErr(t, err)
	tel := decodeTelemetry(t, out)
	eq(t, "spans", len(tel.Spans), 2)
	eq(t, "dropped spans", tel.Dropped.Spans, 1)
	eq(t, "errors", tel.Dropped.Errors, 0)
}

func TestBoundedBuffersCountOverflow(t *testing.T) {
	cf := fxFields(ptel.DecisionRecordAndSample)
	cf.Limits.AttributeCount = 2
	cf.Limits.EventCount = 1
	cf.Limits.LinkCount = 1
	c, err := ptel.NewContext(cf)
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(c, &ptel.RecorderOptions{Clock: ptel.NewManualClock(fxTimeBase), IDs: &counterIDs{}})
	mustNoErr(t, err)
	defer rec.Close()
	_, s := rec.Start(bg, "s")
	for i := 0; i < 1000; i++ {
		s.SetAttributes(ptel.Int(fmt.Sprint("k", i), i), ptel.Int("k0", -i))
		s.AddEvent("e")
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: mustSpanID("0000000000000099")})
	s.AddLink(ptel.Link{SpanContext: sc})
	s.AddLink(ptel.Link{SpanContext: sc})
	s.AddLink(ptel.Link{SpanContext: sc})
	s.End()
	out, err := rec.Finish()
	mustNoErr(t, err)
	sp := decodeTelemetry(t, out).Spans[0]
	sameKeyValues(t, "attributes", sp.Attributes, keyValues(ptel.Int("k0", -999), ptel.Int("k1", 1)))
	eq(t, "dropped attributes", sp.DroppedAttributesCount, 998)
	eq(t, "events", len(sp.Events), 1)
	eq(t, "dropped events", sp.DroppedEventsCount, 999)
	eq(t, "links", len(sp.Links), 1)
	eq(t, "dropped links", sp.DroppedLinksCount, 2)
}

func TestRecordErrorAndException(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	_, s := f.rec.Start(bg, "s")
	s.RecordError(nil) // nothing
	s.RecordError(errors.New("disk full"), ptel.String("extra", "1"))
	s.End()
	_, p := f.rec.Start(bg, "p")
	p.RecordError(panicky{})
	p.End()
	_, x := f.rec.Start(bg, "x")
	x.RecordException("", "", "")
	x.End()
	_, at := f.rec.Start(bg, "at")
	at.RecordErrorAt(nil, time.Unix(0, 5)) // nothing
	at.RecordErrorAt(errors.New("late"), time.Unix(0, int64(fxTimeBase+7)), ptel.Int("n", 1))
	at.RecordErrorAt(errors.New("now"), time.Time{})
	at.End()
	tel := decodeTelemetry(t, f.finish())
	ae := tel.span(t, "at").Events
	eq(t, "RecordErrorAt events", len(ae), 2)
	eq(t, "RecordErrorAt time", ae[0].TimeUnixNano, fxTimeBase+7)
	eq(t, "RecordErrorAt attrs", len(ae[0].Attributes), 3)
	eq(t, "RecordErrorAt zero time = now", ae[1].TimeUnixNano, tel.span(t, "at").StartTimeUnixNano)
	eq(t, "RecordErrorAt status", tel.span(t, "at").Status.GetMessage(), "now")
	sp := tel.span(t, "s")
	eq(t, "events", len(sp.Events), 1)
	eq(t, "event", sp.Events[0].Name, "exception")
	sameKeyValues(t, "exception", sp.Events[0].Attributes, keyValues(
		ptel.String("exception.type", "*errors.errorString"),
		ptel.String("exception.message", "disk full"),
		ptel.String("extra", "1")))
	eq(t, "status", sp.Status.GetCode(), tracepb.Status_STATUS_CODE_ERROR)
	eq(t, "message", sp.Status.GetMessage(), "disk full")
	pp := tel.span(t, "p")
	m := attrMap(pp.Events[0].Attributes)
	eq(t, "panicking Error()", m["exception.message"].GetStringValue(), "(panic in Error method)")
	eq(t, "panicking type", m["exception.type"].GetStringValue(), "ptel_test.panicky")
	xx := tel.span(t, "x")
	eq(t, "bare exception attrs", len(xx.Events[0].Attributes), 0)
	eq(t, "bare exception status", xx.Status.GetCode(), tracepb.Status_STATUS_CODE_ERROR)
}

type panicky struct{}

func (panicky) Error() string { panic("no") }

type panickyIDs struct{}

func (panickyIDs) NewSpanID() trace.SpanID { panic("generator broke") }

type zeroIDs struct{ n int }

func (z *zeroIDs) NewSpanID() trace.SpanID { z.n++; return trace.SpanID{} }

func TestPanicsNeverReachThePlugin(t *testing.T) {
	c, err := ptel.NewContext(fxFields(ptel.DecisionRecordAndSample))
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(c, &ptel.RecorderOptions{IDs: panickyIDs{}, Strict: true})
	mustNoErr(t, err)
	defer rec.Close()
	ctx, s := rec.Start(bg, "s")
	if ctx != bg || s.IsRecording() {
		t.Fatal("a span started although the id generator panicked")
	}
	eq(t, "errors", rec.Drops().Errors, 1)
	var pe *ptel.Error
	if !errors.As(rec.Err(), &pe) || pe.Op != "recover" || pe.Reason != "generator broke" {
		t.Fatalf("Err() = %v", rec.Err())
	}
	// A generator that only returns zeros falls back to the default one.
	z := &zeroIDs{}
	rec2, err := ptel.NewRecorder(c, &ptel.RecorderOptions{IDs: z})
	mustNoErr(t, err)
	defer rec2.Close()
	_, s2 := rec2.Start(bg, "s2")
	eq(t, "tries", z.n, 4)
	eq(t, "valid id", s2.SpanContext().SpanID().IsValid(), true)
}

func TestResetAndClose(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	ctx, old := f.rec.Start(bg, "old")
	counter := f.rec.Int64Counter("c")
	first, err := f.rec.Finish()
	mustNoErr(t, err)
	c2, err := ptel.NewContext(fxFields(ptel.DecisionRecordOnly))
	mustNoErr(t, err)
	mustNoErr(t, f.rec.Reset(c2))
	eq(t, "context after reset", f.rec.Context(), c2)
	// Handles of the previous invocation are inert, and not counted.
	old.End()
	old.SetAttributes(ptel.Int("x", 1))
	counter.Add(bg, 1)
	eq(t, "old recording", old.IsRecording(), false)
	_, fresh := f.rec.Start(ctx, "fresh") // ctx of the old invocation: a root span
	fresh.End()
	tel := decodeTelemetry(t, f.finish())
	eq(t, "spans", len(tel.Spans), 1)
	eqBytes(t, "parent", tel.Spans[0].ParentSpanId, fxSpanID[:])
	eq(t, "flags (record only)", tel.Spans[0].Flags, 0x300)
	eq(t, "metrics", len(tel.Metrics), 0)
	eq(t, "drops", tel.Dropped, ptel.DropCounts{})
	if len(first) == 0 {
		t.Fatal("empty first payload")
	}
	f.rec.Close()
	f.rec.Close()
	if _, err := f.rec.Finish(); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("Finish after Close: %v", err)
	}
	if err := f.rec.Reset(c2); !errors.Is(err, ptel.ErrState) {
		t.Fatalf("Reset after Close: %v", err)
	}
	_, s := f.rec.Start(bg, "after close")
	s.End()
	eq(t, "closed recording", s.IsRecording(), false)
	eq(t, "closed drops", f.rec.Drops(), ptel.DropCounts{})
	eq(t, "closed span context", fresh.SpanContext().IsValid(), false)
	f.rec.Int64Counter("after.close").Add(bg, 1)
}

func TestSpanContextAndContextPlumbing(t *testing.T) {
	cf := fxFields(ptel.DecisionRecordAndSample)
	cf.TraceState = "vendor=1"
	c, err := ptel.NewContext(cf)
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(c, &ptel.RecorderOptions{IDs: &counterIDs{}})
	mustNoErr(t, err)
	defer rec.Close()
	type key struct{}
	base := context.WithValue(bg, key{}, "kept")
	ctx, s := rec.Start(base, "s")
	eq(t, "values pass through", ctx.Value(key{}), any("kept"))
	eq(t, "deadline passes through", ctx.Done() == base.Done(), true)
	sc := s.SpanContext()
	eq(t, "trace id", sc.TraceID(), fxTraceID)
	eq(t, "span id", sc.SpanID(), trace.SpanID(mustSpanID("0000000000000001")))
	eq(t, "sampled", sc.IsSampled(), true)
	eq(t, "remote", sc.IsRemote(), false)
	eq(t, "tracestate", sc.TraceState().String(), "vendor=1")
	eq(t, "from context", ptel.SpanFromContext(ctx), s)
	ctx2 := ptel.ContextWithSpan(bg, s)
	_, child := rec.Start(ctx2, "child")
	child.End()
	_, root := rec.Start(ctx, "root", ptel.WithNewRoot())
	root.End()
	s.End()
	out, err := rec.Finish()
	mustNoErr(t, err)
	tel := decodeTelemetry(t, out)
	eqBytes(t, "child parent", tel.span(t, "child").ParentSpanId, id8(1))
	eqBytes(t, "new root parent", tel.span(t, "root").ParentSpanId, fxSpanID[:])
	eq(t, "span tracestate", tel.span(t, "s").TraceState, "vendor=1")
	eq(t, "ContextWithSpan(nil)", ptel.SpanFromContext(ptel.ContextWithSpan(nil, s)), s) //nolint:staticcheck
	// A span of another recorder in ctx is not a parent.
	other := newFixture(t, ptel.DecisionRecordAndSample, false)
	_, os := other.rec.Start(ctx, "os")
	os.End()
	eqBytes(t, "foreign parent ignored", decodeTelemetry(t, other.finish()).Spans[0].ParentSpanId, fxSpanID[:])
}

func TestNowFollowsTheManualClock(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	eq(t, "now", f.rec.Now().UnixNano(), int64(fxTimeBase))
	f.clock.Advance(1500 * time.Nanosecond)
	f.clock.Advance(-5) // ignored
	eq(t, "now after advance", f.rec.Now().UnixNano(), int64(fxTimeBase+1500))
	eq(t, "monotonic", f.clock.Monotonic(), 1500)
	eq(t, "realtime", f.clock.Realtime(), fxTimeBase+1500)
	// Without a manual clock: the context's time base plus elapsed time.
	c, err := ptel.NewContext(fxFields(ptel.DecisionRecordAndSample))
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(c, nil)
	mustNoErr(t, err)
	defer rec.Close()
	n := rec.Now().UnixNano()
	if n < fxTimeBase || n > fxTimeBase+int64(time.Minute) {
		t.Fatalf("Now = %d, want just after the time base", n)
	}
	_, s := rec.Start(bg, "s", ptel.WithStartTime(time.Unix(0, fxTimeBase+7)))
	s.End()
	sp := decodeTelemetry(t, mustFinish(t, rec)).Spans[0]
	eq(t, "explicit start", sp.StartTimeUnixNano, fxTimeBase+7)
	if sp.EndTimeUnixNano < uint64(n) {
		t.Fatalf("end %d before Now %d", sp.EndTimeUnixNano, n)
	}
}

func mustFinish(t testing.TB, r *ptel.Recorder) []byte {
	t.Helper()
	out, err := r.Finish()
	mustNoErr(t, err)
	return out
}

func TestFinishToAppends(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	_, s := f.rec.Start(bg, "s")
	s.End()
	prefix := []byte("prefix")
	out, err := f.rec.FinishTo(prefix)
	mustNoErr(t, err)
	eq(t, "prefix kept", string(out[:6]), "prefix")
	eqBytes(t, "same payload", out[6:], f.finish())
}

func TestConcurrentSpansOnOneRecorder(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, false)
	c, err := ptel.NewContext(fxFields(ptel.DecisionRecordAndSample))
	mustNoErr(t, err)
	f.rec, err = ptel.NewRecorder(c, nil) // the default, thread-safe id source
	mustNoErr(t, err)
	defer f.rec.Close()
	ctx, root := f.rec.Start(bg, "root")
	counter := f.rec.Int64Counter("work")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				c, s := f.rec.Start(ctx, "task")
				s.SetAttributes(ptel.Int("i", i))
				counter.Add(c, 1)
				s.End()
			}
		}()
	}
	wg.Wait()
	root.End()
	tel := decodeTelemetry(t, f.finish())
	eq(t, "spans", len(tel.Spans), 401)
	eq(t, "count", tel.metric(t, "work").GetSum().DataPoints[0].GetAsInt(), 400)
	seen := map[string]bool{}
	for _, s := range tel.Spans {
		if seen[hexID(s.SpanId)] {
			t.Fatalf("duplicate span id %x", s.SpanId)
		}
		seen[hexID(s.SpanId)] = true
	}
}

// fewestCgoCalls runs f many times and returns the fewest cgo calls the
// process made during one run. The counter is process-wide: a cleanup
// freeing an earlier test's C objects can add calls of its own during a
// run, never remove any, so the fewest is f's own count. A collection
// first queues those cleanups, and the runs are many (each is short): a
// queue still draining through ten runs made the test flaky under -race.
func fewestCgoCalls(f func()) int64 {
	runtime.GC()
	fewest := int64(-1)
	for i := 0; i < 200; i++ {
		before := runtime.NumCgoCall()
		f()
		if n := runtime.NumCgoCall() - before; fewest < 0 || n < fewest {
			fewest = n
		}
	}
	return fewest
}
