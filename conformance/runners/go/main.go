// Command conformance runs the vectors of conformance/vectors through the
// public API of the Go binding (Recorder, Start/End, instruments,
// BeginInvocation, ContextFromW3C) and writes the results JSON of
// conformance/README.md section 7.
//
//	go run ./conformance/runners/go <vectors-dir> <results.json> [expected-failures.json]
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"go.opentelemetry.io/otel/trace"
)

const (
	runtimeName = "go"
	defaultT    = 1_000_000_000_000
)

// caseIDs is README section 2's generator: zero bytes ending in a counter.
type caseIDs struct{ k byte }

func (c *caseIDs) NewSpanID() (id trace.SpanID) {
	c.k++
	id[7] = c.k
	return id
}

type failure string

func failf(format string, a ...any) { panic(failure(fmt.Sprintf(format, a...))) }

// ---- typed values (README 1.1) ----------------------------------------------

type typed map[string]json.RawMessage

type attr struct {
	Key   string `json:"key"`
	Value typed  `json:"value"`
}

func parseDouble(s string) float64 {
	switch s {
	case "NaN":
		return math.Float64frombits(0x7ff8000000000000) // the canonical quiet NaN (C NAN); math.NaN() sets a payload bit
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		failf("bad double %q", s)
	}
	return f
}

func str(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		failf("not a string: %s", raw)
	}
	return s
}

func value(v typed) ptel.Value {
	for kind, raw := range v {
		switch kind {
		case "string":
			return ptel.StringValue(str(raw))
		case "bool":
			return ptel.BoolValue(string(raw) == "true")
		case "int":
			i, err := strconv.ParseInt(str(raw), 10, 64)
			if err != nil {
				failf("bad int %s", raw)
			}
			return ptel.Int64Value(i)
		case "double":
			return ptel.Float64Value(parseDouble(str(raw)))
		case "bytes_b64":
			b, err := base64.StdEncoding.DecodeString(str(raw))
			if err != nil {
				failf("bad base64 %s", raw)
			}
			return ptel.BytesValue(b)
		case "array":
			var items []typed
			if err := json.Unmarshal(raw, &items); err != nil {
				failf("bad array %s", raw)
			}
			vs := make([]ptel.Value, len(items))
			for i, it := range items {
				vs[i] = value(it)
			}
			return ptel.SliceValue(vs...)
		case "kvlist":
			var kvs []attr
			if err := json.Unmarshal(raw, &kvs); err != nil {
				failf("bad kvlist %s", raw)
			}
			return ptel.MapValue(attrs(kvs)...)
		case "empty":
			return ptel.Value{}
		}
		failf("unknown typed value %q", kind)
	}
	failf("empty typed value")
	return ptel.Value{}
}

func attrs(as []attr) []ptel.KeyValue {
	out := make([]ptel.KeyValue, 0, len(as))
	for _, a := range as {
		out = append(out, ptel.KeyValue{Key: a.Key, Value: value(a.Value)})
	}
	return out
}

func firstDiff(got, want []byte) string {
	n := 0
	for n < len(got) && n < len(want) && got[n] == want[n] {
		n++
	}
	return fmt.Sprintf("differs at byte %d (got %d bytes, want %d)", n, len(got), len(want))
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		failf("bad hex %q", s)
	}
	return b
}

func ns(t int64) time.Time { return time.Unix(0, t) }

// ---- scenarios (README 3) ----------------------------------------------------

var kinds = map[string]ptel.SpanKind{"unspecified": ptel.SpanKindUnspecified,
	"internal": ptel.SpanKindInternal, "server": ptel.SpanKindServer, "client": ptel.SpanKindClient,
	"producer": ptel.SpanKindProducer, "consumer": ptel.SpanKindConsumer}
var decisions = map[string]ptel.Decision{"drop": ptel.DecisionDrop,
	"record_only": ptel.DecisionRecordOnly, "record_and_sample": ptel.DecisionRecordAndSample}
var statuses = map[string]ptel.StatusCode{"unset": ptel.StatusUnset, "ok": ptel.StatusOK,
	"error": ptel.StatusError}

type limitsJSON map[string]uint32

func limits(m limitsJSON) ptel.Limits {
	var l ptel.Limits
	v := reflect.ValueOf(&l).Elem()
	for k, n := range m {
		name := ""
		for _, part := range strings.Split(k, "_") {
			name += strings.ToUpper(part[:1]) + part[1:]
		}
		f := v.FieldByName(name)
		if !f.IsValid() {
			failf("limit %q has no field %s in ptel.Limits", k, name)
		}
		f.SetUint(uint64(n))
	}
	return l
}

type op struct {
	Op          string     `json:"op"`
	Ref         string     `json:"ref"`
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Parent      string     `json:"parent"`
	Time        *int64     `json:"time"`
	Span        string     `json:"span"`
	Attrs       []attr     `json:"attrs"`
	To          string     `json:"to"`
	TraceID     string     `json:"trace_id"`
	SpanID      string     `json:"span_id"`
	TraceFlags  uint8      `json:"trace_flags"`
	Tracestate  *string    `json:"tracestate"`
	Code        string     `json:"code"`
	Description string     `json:"description"`
	Type        string     `json:"type"`
	Message     string     `json:"message"`
	Stacktrace  string     `json:"stacktrace"`
	NS          int64      `json:"ns"`
	NumberType  string     `json:"number_type"`
	Unit        string     `json:"unit"`
	Bounds      *[]float64 `json:"bounds"`
	Metric      string     `json:"metric"`
	Value       typed      `json:"value"`
}

type scenario struct {
	Context struct {
		Traceparent   string     `json:"traceparent"`
		Tracestate    string     `json:"tracestate"`
		Baggage       string     `json:"baggage"`
		Decision      string     `json:"decision"`
		PluginName    string     `json:"plugin_name"`
		PluginVersion string     `json:"plugin_version"`
		Hook          string     `json:"hook"`
		TimeBase      *uint64    `json:"time_base_unix_nano"`
		Limits        limitsJSON `json:"limits"`
	} `json:"context"`
	Ops      []op `json:"ops"`
	Expected struct {
		PayloadHex string `json:"payload_hex"`
		JSON       string `json:"json"`
	} `json:"expected"`
}

func runScenario(raw json.RawMessage) {
	var sc scenario
	if err := json.Unmarshal(raw, &sc); err != nil {
		failf("bad case: %v", err)
	}
	c := sc.Context
	base := uint64(defaultT)
	if c.TimeBase != nil {
		base = *c.TimeBase
	}
	// The parent comes from the traceparent (ContextFromW3C parses it); the
	// other fields go through NewContext as README section 3 says.
	tpCtx, err := ptel.ContextFromW3C(c.Traceparent, "", "")
	if err != nil {
		failf("traceparent: %v", err)
	}
	psc := tpCtx.SpanContext()
	ctx, err := ptel.NewContext(ptel.ContextFields{
		TraceID: psc.TraceID(), SpanID: psc.SpanID(), TraceFlags: uint8(psc.TraceFlags()),
		Remote: true, TraceState: c.Tracestate, Baggage: c.Baggage,
		Decision: decisions[c.Decision], Limits: limits(c.Limits), TimeBase: base,
		PluginName: c.PluginName, PluginVersion: c.PluginVersion, Hook: c.Hook,
	})
	if err != nil {
		failf("context: %v", err)
	}
	clock := ptel.NewManualClock(base)
	rec, err := ptel.NewRecorder(ctx, &ptel.RecorderOptions{Clock: clock, IDs: &caseIDs{}})
	if err != nil {
		failf("recorder: %v", err)
	}
	defer rec.Close()
	spans := map[string]ptel.Span{}
	type inst struct {
		kind  string
		isInt bool
		v     any
	}
	insts := map[string]inst{}
	bg := context.Background()
	var payload []byte
	finished := false
	for _, o := range sc.Ops {
		sp := spans[o.Span]
		switch o.Op {
		case "start_span":
			parent := bg
			if o.Parent != "" {
				parent = ptel.ContextWithSpan(bg, spans[o.Parent])
			}
			kind := ptel.SpanKindInternal
			if o.Kind != "" {
				kind = kinds[o.Kind]
			}
			opts := []ptel.StartOption{ptel.WithSpanKind(kind)}
			if o.Time != nil {
				opts = append(opts, ptel.WithStartTime(ns(*o.Time)))
			}
			_, spans[o.Ref] = rec.Start(parent, o.Name, opts...)
		case "set_attributes":
			sp.SetAttributes(attrs(o.Attrs)...)
		case "add_event":
			if o.Time != nil {
				sp.AddEventAt(o.Name, ns(*o.Time), attrs(o.Attrs)...)
			} else {
				sp.AddEvent(o.Name, attrs(o.Attrs)...)
			}
		case "add_link":
			var target trace.SpanContext
			if o.To != "" {
				target = spans[o.To].SpanContext()
			} else {
				var tid trace.TraceID
				var sid trace.SpanID
				copy(tid[:], unhex(o.TraceID))
				copy(sid[:], unhex(o.SpanID))
				cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid,
					TraceFlags: trace.TraceFlags(o.TraceFlags)}
				target = trace.NewSpanContext(cfg)
			}
			if o.Tracestate != nil {
				ts, err := trace.ParseTraceState(*o.Tracestate)
				if err != nil {
					failf("link tracestate %q not accepted by otel trace.ParseTraceState: %v", *o.Tracestate, err)
				}
				target = target.WithTraceState(ts)
			}
			sp.AddLink(ptel.Link{SpanContext: target, Attributes: attrs(o.Attrs)})
		case "set_status":
			sp.SetStatus(statuses[o.Code], o.Description)
		case "record_exception":
			if o.Time != nil && uint64(*o.Time) != base+clock.Monotonic() {
				failf("Span.RecordException takes no time")
			}
			sp.RecordException(o.Type, o.Message, o.Stacktrace)
		case "update_name":
			sp.SetName(o.Name)
		case "end_span":
			if o.Time != nil {
				sp.End(ptel.WithEndTime(ns(*o.Time)))
			} else {
				sp.End()
			}
		case "advance":
			clock.Advance(time.Duration(o.NS))
		case "metric":
			var iopts []ptel.InstrumentOption
			if o.Unit != "" {
				iopts = append(iopts, ptel.WithUnit(o.Unit))
			}
			if o.Description != "" {
				iopts = append(iopts, ptel.WithDescription(o.Description))
			}
			if o.Bounds != nil {
				iopts = append(iopts, ptel.WithBounds(*o.Bounds...))
			}
			isInt := o.NumberType == "int"
			var v any
			switch {
			case o.Kind == "counter" && isInt:
				v = rec.Int64Counter(o.Name, iopts...)
			case o.Kind == "counter":
				v = rec.Float64Counter(o.Name, iopts...)
			case o.Kind == "updown_counter" && isInt:
				v = rec.Int64UpDownCounter(o.Name, iopts...)
			case o.Kind == "updown_counter":
				v = rec.Float64UpDownCounter(o.Name, iopts...)
			case o.Kind == "gauge" && isInt:
				v = rec.Int64Gauge(o.Name, iopts...)
			case o.Kind == "gauge":
				v = rec.Float64Gauge(o.Name, iopts...)
			case o.Kind == "histogram" && isInt:
				v = rec.Int64Histogram(o.Name, iopts...)
			case o.Kind == "histogram":
				v = rec.Float64Histogram(o.Name, iopts...)
			default:
				failf("unknown metric kind %q", o.Kind)
			}
			insts[o.Ref] = inst{o.Kind, isInt, v}
		case "record":
			in := insts[o.Metric]
			mctx := bg
			if o.Span != "" {
				mctx = ptel.ContextWithSpan(bg, spans[o.Span])
			}
			a := attrs(o.Attrs)
			var iv int64
			var fv float64
			_, valIsInt := o.Value["int"]
			if valIsInt {
				iv, _ = strconv.ParseInt(str(o.Value["int"]), 10, 64)
			} else {
				fv = parseDouble(str(o.Value["double"]))
			}
			if valIsInt != in.isInt {
				failf("the typed Go instruments cannot record a %s value on a %s instrument",
					map[bool]string{true: "int", false: "double"}[valIsInt],
					map[bool]string{true: "int", false: "double"}[in.isInt])
			}
			switch m := in.v.(type) {
			case *ptel.Int64Counter:
				m.Add(mctx, iv, a...)
			case *ptel.Float64Counter:
				m.Add(mctx, fv, a...)
			case *ptel.Int64UpDownCounter:
				m.Add(mctx, iv, a...)
			case *ptel.Float64UpDownCounter:
				m.Add(mctx, fv, a...)
			case *ptel.Int64Gauge:
				m.Record(mctx, iv, a...)
			case *ptel.Float64Gauge:
				m.Record(mctx, fv, a...)
			case *ptel.Int64Histogram:
				m.Record(mctx, iv, a...)
			case *ptel.Float64Histogram:
				m.Record(mctx, fv, a...)
			default:
				failf("record on unknown metric %q", o.Metric)
			}
		case "finish":
			payload, err = rec.Finish()
			if err != nil {
				failf("finish: %v", err)
			}
			finished = true
		default:
			failf("unknown op %q", o.Op)
		}
	}
	if !finished {
		failf("no finish op")
	}
	want := unhex(sc.Expected.PayloadHex)
	if !bytes.Equal(payload, want) {
		failf("payload %s", firstDiff(payload, want))
	}
	got := ""
	if len(payload) > 0 {
		j, err := ptel.RenderJSON(ptel.JSONPluginTelemetry, payload)
		if err != nil {
			failf("render json: %v", err)
		}
		got = string(j)
	}
	if got != sc.Expected.JSON {
		failf("json differs")
	}
}

// ---- host (README 4) -----------------------------------------------------------

type hostCase struct {
	Invocation struct {
		Parent *struct {
			TraceID    string `json:"trace_id"`
			SpanID     string `json:"span_id"`
			TraceFlags uint8  `json:"trace_flags"`
		} `json:"parent"`
		Tracestate      string  `json:"tracestate"`
		Baggage         string  `json:"baggage"`
		SpanID          string  `json:"span_id"`
		Decision        string  `json:"decision"`
		PluginName      string  `json:"plugin_name"`
		PluginVersion   string  `json:"plugin_version"`
		Hook            string  `json:"hook"`
		SpanName        string  `json:"span_name"`
		StartUnixNano   *int64  `json:"start_unix_nano"`
		DurationNS      *uint64 `json:"duration_ns"`
		Features        uint64  `json:"features"`
		ContextIsRemote bool    `json:"context_is_remote"`
		Attrs           []attr  `json:"attrs"`
		Policy          *struct {
			Limits           limitsJSON `json:"limits"`
			TimeSlackNS      *int64     `json:"time_slack_ns"`
			TimePolicy       string     `json:"time_policy"`
			AcceptRecordOnly bool       `json:"accept_record_only"`
			ReservedKeys     *[]string  `json:"reserved_keys"`
		} `json:"policy"`
	} `json:"invocation"`
	PayloadHex string `json:"payload_hex"`
	Outcome    string `json:"outcome"`
	ErrorType  string `json:"error_type"`
	Export     struct {
		Resource              *[]attr `json:"resource"`
		HostScopeName         *string `json:"host_scope_name"`
		HostScopeVersion      *string `json:"host_scope_version"`
		IncludeInvocationSpan *bool   `json:"include_invocation_span"`
	} `json:"export"`
	Expected struct {
		Status     string          `json:"status"`
		Report     json.RawMessage `json:"report"`
		TracesHex  string          `json:"traces_hex"`
		MetricsHex string          `json:"metrics_hex"`
	} `json:"expected"`
}

var outcomes = map[string]ptel.Outcome{"": ptel.OutcomeOK, "ok": ptel.OutcomeOK,
	"error": ptel.OutcomeError, "timeout": ptel.OutcomeTimeout, "crash": ptel.OutcomeCrash}

func runHost(raw json.RawMessage) {
	var hc hostCase
	if err := json.Unmarshal(raw, &hc); err != nil {
		failf("bad case: %v", err)
	}
	iv := hc.Invocation
	clock := ptel.NewManualClock(defaultT)
	o := ptel.InvocationOptions{Baggage: iv.Baggage, PluginName: iv.PluginName,
		PluginVersion: iv.PluginVersion, Hook: iv.Hook, SpanName: iv.SpanName,
		Features: ptel.Feature(iv.Features), RemoteContext: iv.ContextIsRemote,
		Attributes: attrs(iv.Attrs), Clock: clock, Start: ns(defaultT)}
	d := ptel.DecisionRecordAndSample
	if iv.Decision != "" {
		d = decisions[iv.Decision]
	}
	o.Decision = &d
	if iv.StartUnixNano != nil {
		o.Start = ns(*iv.StartUnixNano)
	}
	if iv.SpanID != "" {
		copy(o.SpanID[:], unhex(iv.SpanID))
	}
	if iv.Parent != nil {
		var tid trace.TraceID
		var sid trace.SpanID
		copy(tid[:], unhex(iv.Parent.TraceID))
		copy(sid[:], unhex(iv.Parent.SpanID))
		cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid,
			TraceFlags: trace.TraceFlags(iv.Parent.TraceFlags), Remote: true} // as the C runner
		if iv.Tracestate != "" {
			ts, err := trace.ParseTraceState(iv.Tracestate)
			if err != nil {
				failf("tracestate %q not accepted by otel trace.ParseTraceState: %v", iv.Tracestate, err)
			}
			cfg.TraceState = ts
		}
		o.Parent = trace.NewSpanContext(cfg)
	}
	if p := iv.Policy; p != nil {
		hp := &ptel.HostPolicy{Limits: limits(p.Limits), AcceptRecordOnly: p.AcceptRecordOnly}
		if p.TimeSlackNS != nil {
			hp.TimeSlack = time.Duration(*p.TimeSlackNS)
			if *p.TimeSlackNS == 0 {
				hp.TimeSlack = -1 // Go: 0 = default, < 0 = none
			}
		}
		if p.TimePolicy == "reject" {
			hp.TimePolicy = ptel.TimeReject
		}
		if p.ReservedKeys != nil {
			hp.ReservedKeys = append([]string{}, *p.ReservedKeys...)
		}
		o.Policy = hp
	}
	inv, err := ptel.BeginInvocation(context.Background(), &o)
	if err != nil {
		failf("begin: %v", err)
	}
	defer inv.Close()
	dur := uint64(1_000_000)
	if iv.DurationNS != nil {
		dur = *iv.DurationNS
	}
	clock.Set(dur)
	rep, err := inv.End(unhex(hc.PayloadHex), outcomes[hc.Outcome], hc.ErrorType)
	status := "OK"
	if err != nil {
		var pe *ptel.Error
		if errors.As(err, &pe) {
			status = pe.Code.Name()
		} else if code, ok := err.(ptel.ErrorCode); ok {
			status = code.Name()
		} else {
			status = err.Error()
		}
	}
	if status != hc.Expected.Status {
		failf("status %s, want %s", status, hc.Expected.Status)
	}
	if len(hc.Expected.Report) > 0 && (err == nil || status == "E_REJECTED") {
		var got, want any
		if e := json.Unmarshal([]byte(rep.JSON()), &got); e != nil {
			failf("report json: %v", e)
		}
		_ = json.Unmarshal(hc.Expected.Report, &want)
		if !reflect.DeepEqual(got, want) {
			failf("report %s", rep.JSON())
		}
	}
	eo := &ptel.ExportOptions{ScopeName: "ptel", ScopeVersion: "conformance",
		Resource: []ptel.KeyValue{ptel.String("service.name", "conformance")}}
	if hc.Export.Resource != nil {
		eo.Resource = attrs(*hc.Export.Resource)
	}
	if hc.Export.HostScopeName != nil {
		eo.ScopeName = *hc.Export.HostScopeName
	}
	if hc.Export.HostScopeVersion != nil {
		eo.ScopeVersion = *hc.Export.HostScopeVersion
	}
	if hc.Export.IncludeInvocationSpan != nil {
		eo.OmitInvocationSpan = !*hc.Export.IncludeInvocationSpan
	}
	tr, err := inv.ExportTraces(eo)
	if err != nil {
		failf("export traces: %v", err)
	}
	if want := unhex(hc.Expected.TracesHex); !bytes.Equal(tr, want) {
		failf("traces %s", firstDiff(tr, want))
	}
	me, err := inv.ExportMetrics(eo)
	if err != nil {
		failf("export metrics: %v", err)
	}
	if want := unhex(hc.Expected.MetricsHex); !bytes.Equal(me, want) {
		failf("metrics %s", firstDiff(me, want))
	}
}

// ---- W3C (README 5) ------------------------------------------------------------

const tpOK = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

type w3cCase struct {
	Header   string  `json:"header"`
	Input    *string `json:"input"`
	InputHex string  `json:"input_hex"`
	Expected struct {
		Valid      bool   `json:"valid"`
		Version    int    `json:"version"`
		TraceID    string `json:"trace_id"`
		ParentID   string `json:"parent_id"`
		TraceFlags int    `json:"trace_flags"`
		Normalized string `json:"normalized"`
	} `json:"expected"`
}

func runW3C(raw json.RawMessage) {
	var wc w3cCase
	if err := json.Unmarshal(raw, &wc); err != nil {
		failf("bad case: %v", err)
	}
	in := string(unhex(wc.InputHex))
	if wc.Input != nil {
		in = *wc.Input
	}
	exp := wc.Expected
	switch wc.Header {
	case "traceparent":
		ctx, err := ptel.ContextFromW3C(in, "", "")
		if err != nil {
			if exp.Valid {
				failf("refused a valid traceparent: %v", err)
			}
			return
		}
		if !exp.Valid {
			failf("accepted an invalid traceparent")
		}
		sc := ctx.SpanContext()
		tid, sid := sc.TraceID(), sc.SpanID()
		got := fmt.Sprintf("%x %x %d", tid[:], sid[:], ctx.Fields().TraceFlags)
		want := fmt.Sprintf("%s %s %d", exp.TraceID, exp.ParentID, exp.TraceFlags)
		if got != want {
			failf("parsed %s, want %s", got, want)
		}
		if exp.Version != 0 {
			failf("the Context does not expose the traceparent version")
		}
	case "tracestate", "baggage":
		var ctx *ptel.Context
		var err error
		if wc.Header == "tracestate" {
			ctx, err = ptel.ContextFromW3C(tpOK, in, "")
		} else {
			ctx, err = ptel.ContextFromW3C(tpOK, "", in)
		}
		got := ""
		if err == nil {
			if wc.Header == "tracestate" {
				got = ctx.Fields().TraceState
			} else {
				got = ctx.Fields().Baggage
			}
		}
		want := ""
		if exp.Valid {
			want = exp.Normalized
		}
		if got != want {
			failf("normalized %q, want %q", got, want)
		}
	default:
		failf("unknown header %q", wc.Header)
	}
}

// ---- driver ---------------------------------------------------------------------

type counts struct {
	Passed       int `json:"passed"`
	ExpectedFail int `json:"expected_fail"`
	Failed       int `json:"failed"`
}

type failureEntry struct {
	Column string `json:"column"`
	Case   string `json:"case"`
	Detail string `json:"detail"`
}

func runCase(fn func(json.RawMessage), raw json.RawMessage) (detail string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if f, isF := r.(failure); isF {
				detail = string(f)
			} else {
				detail = fmt.Sprintf("panic: %v", r)
			}
			ok = false
		}
	}()
	fn(raw)
	return "", true
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: conformance <vectors-dir> <results.json> [expected-failures.json]")
		os.Exit(2)
	}
	vectors, out := os.Args[1], os.Args[2]
	xfPath := ""
	if len(os.Args) > 3 {
		xfPath = os.Args[3]
	} else if abs, err := filepath.Abs(vectors); err == nil {
		xfPath = filepath.Join(filepath.Dir(abs), "expected-failures", runtimeName+".json")
	}
	xfail := map[string]string{}
	if b, err := os.ReadFile(xfPath); err == nil {
		var doc struct {
			Entries []struct{ Case, Reason string } `json:"entries"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			fmt.Fprintln(os.Stderr, "expected failures:", err)
			os.Exit(2)
		}
		for _, e := range doc.Entries {
			xfail[e.Case] = e.Reason
		}
	}
	var files []string
	_ = filepath.WalkDir(vectors, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	runners := map[string]func(json.RawMessage){"scenarios": runScenario, "host": runHost, "w3c": runW3C}
	columns := map[string]*counts{}
	failures := []failureEntry{}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var doc struct {
			Group string            `json:"group"`
			Cases []json.RawMessage `json:"cases"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			fmt.Fprintln(os.Stderr, f, err)
			os.Exit(2)
		}
		fn := runners[strings.SplitN(doc.Group, "/", 2)[0]]
		if fn == nil {
			continue
		}
		cnt := columns[doc.Group]
		if cnt == nil {
			cnt = &counts{}
			columns[doc.Group] = cnt
		}
		for _, raw := range doc.Cases {
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &id)
			name := doc.Group + "/" + id.ID
			seen[name] = true
			detail, ok := runCase(fn, raw)
			_, listed := xfail[name]
			switch {
			case listed && ok:
				cnt.Failed++
				failures = append(failures, failureEntry{runtimeName, name, "listed as expected failure but passed"})
			case listed:
				cnt.ExpectedFail++
			case ok:
				cnt.Passed++
			default:
				cnt.Failed++
				failures = append(failures, failureEntry{runtimeName, name, detail})
			}
		}
	}
	for name := range xfail {
		if !seen[name] {
			group := name[:strings.LastIndex(name, "/")]
			cnt := columns[group]
			if cnt == nil {
				cnt = &counts{}
				columns[group] = cnt
			}
			cnt.Failed++
			failures = append(failures, failureEntry{runtimeName, name, "expected-failure entry names no case"})
		}
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i].Case < failures[j].Case })
	res := map[string]any{"format": "ptel-conformance-results/1",
		"columns": map[string]any{runtimeName: columns}, "failures": failures}
	b, _ := json.MarshalIndent(res, "", " ")
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
