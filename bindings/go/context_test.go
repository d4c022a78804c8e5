package ptel_test

import (
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

const fxTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestContextFromW3C(t *testing.T) {
	c, err := ptel.ContextFromW3C(fxTraceparent, "b=2, a=1", "tenant=acme")
	mustNoErr(t, err)
	f := c.Fields()
	eq(t, "trace id", f.TraceID, fxTraceID)
	eq(t, "span id", f.SpanID, fxSpanID)
	eq(t, "flags", f.TraceFlags, 1)
	eq(t, "remote", f.Remote, true)
	eq(t, "decision", c.Decision(), ptel.DecisionRecordAndSample)
	eq(t, "tracestate normalised", f.TraceState, "b=2,a=1")
	eq(t, "baggage", f.Baggage, "tenant=acme")
	eq(t, "limits resolved", c.Limits(), ptel.DefaultLimits())
	tp, err := c.Traceparent()
	mustNoErr(t, err)
	eq(t, "traceparent", tp, fxTraceparent)
	sc := c.SpanContext()
	eq(t, "span context", sc.SpanID(), fxSpanID)
	eq(t, "span context state", sc.TraceState().String(), "b=2,a=1")

	// Not sampled: DROP. Invalid tracestate and baggage are dropped.
	c2, err := ptel.ContextFromW3C(strings.TrimSuffix(fxTraceparent, "01")+"00", "BAD KEY=1", "no value")
	mustNoErr(t, err)
	eq(t, "decision", c2.Decision(), ptel.DecisionDrop)
	eq(t, "bad tracestate dropped", c2.Fields().TraceState, "")
	eq(t, "bad baggage dropped", c2.Fields().Baggage, "")

	for _, bad := range []string{"", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", fxTraceparent + "-x", "ff" + fxTraceparent[2:]} {
		_, err := ptel.ContextFromW3C(bad, "", "")
		if !errors.Is(err, ptel.ErrTraceparent) {
			t.Fatalf("%q: err = %v, want ErrTraceparent", bad, err)
		}
		var pe *ptel.Error
		if !errors.As(err, &pe) || pe.Reason == "" {
			t.Fatalf("%q: no diagnostics in %#v", bad, err)
		}
	}
}

func TestContextEncodeDecode(t *testing.T) {
	f := fxFields(ptel.DecisionRecordOnly)
	f.Limits.SpanCount = 7
	f.Hook = "h"
	f.PluginVersion = "2"
	c, err := ptel.NewContext(f)
	mustNoErr(t, err)
	b, err := c.Encode()
	mustNoErr(t, err)
	back, err := ptel.DecodeContext(b)
	mustNoErr(t, err)
	want := f
	want.ProtocolVersion = 1
	eq(t, "round trip", back.Fields(), want)
	eq(t, "resolved span limit", back.Limits().SpanCount, 7)
	eq(t, "resolved default", back.Limits().EventCount, ptel.DefaultLimits().EventCount)

	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"truncated": {b[:len(b)-1], ptel.ErrTruncated},
		"version":   {[]byte{0x08, 0x02}, ptel.ErrVersion},
		"wire type": {[]byte{0x0b}, ptel.ErrMalformed},
		"empty":     {nil, ptel.ErrVersion},
	} {
		_, err := ptel.DecodeContext(tc.b)
		if !errors.Is(err, tc.want) {
			t.Fatalf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestNewContextRejectsInvalidFields(t *testing.T) {
	for name, tc := range map[string]struct {
		mod  func(*ptel.ContextFields)
		want error
	}{
		"zero trace": {func(f *ptel.ContextFields) { f.TraceID = trace.TraceID{} }, ptel.ErrInvalidID},
		"zero span":  {func(f *ptel.ContextFields) { f.SpanID = trace.SpanID{} }, ptel.ErrInvalidID},
		"tracestate": {func(f *ptel.ContextFields) { f.TraceState = "UPPER=1" }, ptel.ErrTracestate},
		"baggage":    {func(f *ptel.ContextFields) { f.Baggage = "a b=1" }, ptel.ErrBaggage},
		"utf8":       {func(f *ptel.ContextFields) { f.PluginName = "\xff" }, ptel.ErrUTF8},
		"decision":   {func(f *ptel.ContextFields) { f.Decision = 9 }, ptel.ErrValue},
		"version":    {func(f *ptel.ContextFields) { f.ProtocolVersion = 2 }, ptel.ErrVersion},
	} {
		f := fxFields(ptel.DecisionRecordAndSample)
		tc.mod(&f)
		if _, err := ptel.NewContext(f); !errors.Is(err, tc.want) {
			t.Fatalf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestContextFromEnvironment(t *testing.T) {
	f := fxFields(ptel.DecisionRecordAndSample)
	f.TraceState = "v=1"
	f.Baggage = "k=v"
	c, err := ptel.NewContext(f)
	mustNoErr(t, err)
	env, err := c.Env()
	mustNoErr(t, err)
	eq(t, "entries", len(env), 4)
	eq(t, "traceparent entry", env[0], "TRACEPARENT="+fxTraceparent)
	eq(t, "tracestate entry", env[1], "TRACESTATE=v=1")
	eq(t, "baggage entry", env[2], "BAGGAGE=k=v")
	if !strings.HasPrefix(env[3], "PTEL_CONTEXT=") {
		t.Fatalf("last entry %q", env[3])
	}
	vars := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		vars[k] = v
	}
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	back, err := ptel.ContextFromEnvFunc(lookup(vars))
	mustNoErr(t, err)
	eq(t, "via PTEL_CONTEXT", back.Fields(), c.Fields())

	// TRACEPARENT alone.
	w3c, err := ptel.ContextFromEnvFunc(lookup(map[string]string{"TRACEPARENT": fxTraceparent, "TRACESTATE": "x=1"}))
	mustNoErr(t, err)
	eq(t, "w3c tracestate", w3c.Fields().TraceState, "x=1")
	eq(t, "w3c plugin name", w3c.Fields().PluginName, "")

	for name, tc := range map[string]struct {
		m    map[string]string
		want error
	}{
		"none":       {map[string]string{}, ptel.ErrNotFound},
		"bad base64": {map[string]string{"PTEL_CONTEXT": "!!"}, ptel.ErrMalformed},
		"bad tp":     {map[string]string{"TRACEPARENT": "00-x"}, ptel.ErrTraceparent},
		"nul":        {map[string]string{"TRACEPARENT": fxTraceparent + "\x00"}, ptel.ErrInvalidArgument},
	} {
		if _, err := ptel.ContextFromEnvFunc(lookup(tc.m)); !errors.Is(err, tc.want) {
			t.Fatalf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	if _, err := ptel.ContextFromEnvFunc(nil); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil lookup: %v", err)
	}
	t.Setenv("PTEL_CONTEXT", vars["PTEL_CONTEXT"])
	fromOS, err := ptel.ContextFromEnv()
	mustNoErr(t, err)
	eq(t, "process environment", fromOS.Fields(), c.Fields())
}

func TestContextFromSpanContext(t *testing.T) {
	ts, _ := trace.ParseTraceState("s=1")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: fxSpanID,
		TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: false})
	tmpl := &ptel.ContextFields{PluginName: "p", Hook: "h", Decision: ptel.DecisionDrop}
	c, err := ptel.ContextFromSpanContext(sc, tmpl)
	mustNoErr(t, err)
	f := c.Fields()
	eq(t, "decision from sampled", f.Decision, ptel.DecisionRecordAndSample)
	eq(t, "tracestate", f.TraceState, "s=1")
	eq(t, "template kept", f.PluginName+f.Hook, "ph")
	eq(t, "remote", f.Remote, false)
	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: fxTraceID, SpanID: fxSpanID})
	c2, err := ptel.ContextFromSpanContext(unsampled, nil)
	mustNoErr(t, err)
	eq(t, "decision", c2.Decision(), ptel.DecisionDrop)
	if _, err := ptel.ContextFromSpanContext(trace.SpanContext{}, nil); !errors.Is(err, ptel.ErrInvalidID) {
		t.Fatalf("invalid span context: %v", err)
	}
}

func TestLimits(t *testing.T) {
	d := ptel.DefaultLimits()
	eq(t, "attribute count", d.AttributeCount, 128)
	eq(t, "span count", d.SpanCount, 1024)
	eq(t, "payload", d.PayloadBytes, 4<<20)
	eq(t, "resolve zero", ptel.Limits{}.Resolve(), d)
	r := ptel.Limits{SpanCount: 3}.Resolve()
	eq(t, "kept", r.SpanCount, 3)
	eq(t, "filled", r.EventCount, d.EventCount)
}

func TestParseTraceparent(t *testing.T) {
	tp, err := ptel.ParseTraceparent(" " + fxTraceparent + "\t")
	mustNoErr(t, err)
	eq(t, "version", tp.Version, 0)
	eq(t, "trace id", tp.TraceID, fxTraceID)
	eq(t, "parent id", tp.ParentID, fxSpanID)
	eq(t, "flags", tp.Flags, 1)
	sc := tp.SpanContext()
	eq(t, "span context", sc.IsRemote() && sc.IsSampled() && sc.SpanID() == fxSpanID, true)
	// A later version keeps its number and every flag bit; what follows is ignored.
	tp, err = ptel.ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-future")
	mustNoErr(t, err)
	eq(t, "future version", tp.Version, 0xcc)
	eq(t, "all flags", tp.Flags, 0xff)
	for _, bad := range []string{"", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if _, err := ptel.ParseTraceparent(bad); !errors.Is(err, ptel.ErrTraceparent) {
			t.Errorf("%q: %v, want ErrTraceparent", bad, err)
		}
	}
}
