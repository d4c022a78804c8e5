package ptel

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// Limits are what a host enforces and the recorder honours. A zero field
// means the core's default (see DefaultLimits).
type Limits struct {
	AttributeCount       uint32 // per span
	AttributeValueLength uint32 // characters of a string, bytes of a byte array
	AttributeDepth       uint32 // array/map nesting
	EventCount           uint32 // per span
	LinkCount            uint32 // per span
	AttributesPerEvent   uint32
	AttributesPerLink    uint32
	SpanCount            uint32 // spans per invocation
	MetricCount          uint32 // instruments per invocation
	MetricCardinality    uint32 // attribute sets per instrument
	PayloadBytes         uint32 // largest PluginTelemetry the host accepts
}

// DefaultLimits returns the core's default limits.
func DefaultLimits() Limits { return cDefaultLimits() }

// Resolve returns l with every zero field replaced by its default.
func (l Limits) Resolve() Limits { return cResolveLimits(l) }

// ContextFields are the fields of a PluginContext.
type ContextFields struct {
	ProtocolVersion uint32 // 0 = the current version (1)
	TraceID         trace.TraceID
	SpanID          trace.SpanID // the host's invocation span: the plugin spans' parent
	TraceFlags      uint8        // all 8 W3C trace-flag bits
	Remote          bool         // the parent span is in another process
	TraceState      string       // W3C tracestate; normalised by NewContext
	Baggage         string       // W3C baggage, filtered by the host; read-only
	Decision        Decision
	Limits          Limits
	TimeBase        uint64 // host wall time at invocation start, Unix ns; 0 = unknown
	PluginName      string
	PluginVersion   string
	Hook            string
	Features        Feature // 0 = FeaturesV1
}

// Context is an immutable, validated PluginContext: what the host hands a
// plugin. It may be shared between goroutines. Its C memory is released
// when it becomes unreachable; recorders keep the contexts they use alive.
type Context struct {
	c      unsafe.Pointer // *ptel_context, owned
	f      ContextFields
	limits Limits // resolved
}

func newContext(p unsafe.Pointer, err error) (*Context, error) {
	if err != nil {
		if p != nil {
			cContextFree(p)
		}
		return nil, err
	}
	c := &Context{c: p}
	c.f = cContextGet(p)
	c.limits = c.f.Limits.Resolve()
	runtime.AddCleanup(c, cContextFree, p)
	return c, nil
}

// NewContext builds a context from fields, validating ids (non-zero),
// tracestate and baggage grammar, UTF-8 of the names and the decision.
func NewContext(f ContextFields) (*Context, error) {
	return newContext(cContextNew(&f))
}

// ContextFromW3C builds a context from W3C header values; tracestate and
// baggage may be empty. The decision follows the sampled flag
// (DecisionRecordAndSample when set, DecisionDrop otherwise). An invalid
// traceparent fails with ErrTraceparent; an invalid tracestate or baggage
// is dropped, as W3C requires.
func ContextFromW3C(traceparent, tracestate, baggage string) (*Context, error) {
	return newContext(cContextFromW3C(traceparent, tracestate, baggage))
}

// DecodeContext decodes PluginContext bytes. Unknown fields are skipped; a
// different protocol major version fails with ErrVersion.
func DecodeContext(b []byte) (*Context, error) {
	return newContext(cContextDecode(b))
}

// ContextFromEnv builds a context from the process environment: PTEL_CONTEXT
// (base64 PluginContext) when set, else TRACEPARENT, TRACESTATE and BAGGAGE.
// ErrNotFound when neither PTEL_CONTEXT nor TRACEPARENT is set.
func ContextFromEnv() (*Context, error) { return ContextFromEnvFunc(os.LookupEnv) }

// ContextFromEnvFunc is ContextFromEnv with a custom lookup (for tests and
// for hosts that hold a child's environment as a map).
func ContextFromEnvFunc(lookup func(string) (string, bool)) (*Context, error) {
	if lookup == nil {
		return nil, &Error{Code: ErrInvalidArgument, Op: "context from environment"}
	}
	var vals [4]string
	var set [4]bool
	for k, name := range [4]string{"PTEL_CONTEXT", "TRACEPARENT", "TRACESTATE", "BAGGAGE"} {
		vals[k], set[k] = lookup(name)
		if set[k] && strings.IndexByte(vals[k], 0) >= 0 {
			return nil, &Error{Code: ErrInvalidArgument, Op: "context from environment",
				Reason: name + " holds a NUL byte"}
		}
	}
	return newContext(cContextFromEnv(vals, set))
}

// ContextFromSpanContext builds a context whose parent is an OpenTelemetry
// span context (in-process plugins of a host that uses the OpenTelemetry
// SDK). The decision follows the sampled flag; tracestate is taken over.
// Fields other than the parent, tracestate and decision come from tmpl
// (may be nil).
func ContextFromSpanContext(sc trace.SpanContext, tmpl *ContextFields) (*Context, error) {
	var f ContextFields
	if tmpl != nil {
		f = *tmpl
	}
	f.TraceID = sc.TraceID()
	f.SpanID = sc.SpanID()
	f.TraceFlags = uint8(sc.TraceFlags())
	f.Remote = sc.IsRemote()
	f.TraceState = sc.TraceState().String()
	if sc.IsSampled() {
		f.Decision = DecisionRecordAndSample
	} else {
		f.Decision = DecisionDrop
	}
	return NewContext(f)
}

// Fields returns a copy of the context's fields (limits as carried, zero
// meaning default; see Limits for the resolved values).
func (c *Context) Fields() ContextFields { return c.f }

// Limits returns the context's limits with defaults filled in.
func (c *Context) Limits() Limits { return c.limits }

// Decision returns the host's recording decision.
func (c *Context) Decision() Decision { return c.f.Decision }

// SpanContext returns the parent span (the host's invocation span) as an
// OpenTelemetry span context, with the tracestate.
func (c *Context) SpanContext() trace.SpanContext {
	cfg := trace.SpanContextConfig{
		TraceID:    c.f.TraceID,
		SpanID:     c.f.SpanID,
		TraceFlags: trace.TraceFlags(c.f.TraceFlags),
		Remote:     c.f.Remote,
	}
	if c.f.TraceState != "" {
		if ts, err := trace.ParseTraceState(c.f.TraceState); err == nil {
			cfg.TraceState = ts
		}
	}
	return trace.NewSpanContext(cfg)
}

// Encode returns the context as PluginContext bytes (canonical encoding).
func (c *Context) Encode() ([]byte, error) {
	b, err := cContextEncode(c.c)
	runtime.KeepAlive(c)
	return b, err
}

// Env returns the environment carrier as "NAME=value" entries (TRACEPARENT,
// TRACESTATE and BAGGAGE when non-empty, then PTEL_CONTEXT), ready to append
// to exec.Cmd.Env.
func (c *Context) Env() ([]string, error) {
	b, err := cContextToEnv(c.c)
	runtime.KeepAlive(c)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range bytes.Split(b, []byte{0}) {
		if len(e) > 0 {
			out = append(out, string(e))
		}
	}
	return out, nil
}

// Traceparent returns the W3C traceparent of the context's span.
func (c *Context) Traceparent() (string, error) {
	s, err := cContextTraceparent(c.c)
	runtime.KeepAlive(c)
	return s, err
}

// Traceparent is a parsed W3C traceparent header value.
type Traceparent struct {
	Version  uint8 // as received (a higher version parses by the forward-compatible rule)
	TraceID  trace.TraceID
	ParentID trace.SpanID
	Flags    uint8 // all 8 trace-flag bits as received
}

// ParseTraceparent parses a traceparent value as the core does (W3C Trace
// Context Level 2); an invalid one fails with ErrTraceparent, whose Error
// gives the offset and reason.
func ParseTraceparent(s string) (Traceparent, error) { return cTraceparentParse(s) }

// SpanContext returns the remote parent the value names, with all 8 flag
// bits.
func (tp Traceparent) SpanContext() trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tp.TraceID, SpanID: tp.ParentID,
		TraceFlags: trace.TraceFlags(tp.Flags), Remote: true})
}
