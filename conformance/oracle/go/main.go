// Command oracle is the Go independent oracle of conformance/README.md
// section 9: every expected PluginTelemetry payload (its OTLP Span and Metric
// parts) and every expected export request of the vectors must unmarshal with
// the official go.opentelemetry.io/proto/otlp types, leave no unknown field
// anywhere, re-marshal deterministically to the same bytes, and (scenarios)
// agree with the vector's canonical JSON on names, ids, attribute keys and
// data-point counts.
//
//	go run ./conformance/oracle/go [vectors-dir]
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

type vectorFile struct {
	Group string `json:"group"`
	Cases []struct {
		ID       string          `json:"id"`
		Expected json.RawMessage `json:"expected"`
	} `json:"cases"`
}

type expected struct {
	PayloadHex string `json:"payload_hex"`
	JSON       string `json:"json"`
	TracesHex  string `json:"traces_hex"`
	MetricsHex string `json:"metrics_hex"`
}

// The subset of ptel's canonical OTLP/JSON the oracle compares.
type jsonKV struct {
	Key string `json:"key"`
}

type jsonEvent struct {
	Name       string   `json:"name"`
	Attributes []jsonKV `json:"attributes"`
}

type jsonLink struct {
	TraceID string `json:"traceId"`
	SpanID  string `json:"spanId"`
}

type jsonSpan struct {
	TraceID      string      `json:"traceId"`
	SpanID       string      `json:"spanId"`
	ParentSpanID string      `json:"parentSpanId"`
	Name         string      `json:"name"`
	Attributes   []jsonKV    `json:"attributes"`
	Events       []jsonEvent `json:"events"`
	Links        []jsonLink  `json:"links"`
}

type jsonPoints struct {
	DataPoints []json.RawMessage `json:"dataPoints"`
}

type jsonMetric struct {
	Name                 string      `json:"name"`
	Unit                 string      `json:"unit"`
	Sum                  *jsonPoints `json:"sum"`
	Gauge                *jsonPoints `json:"gauge"`
	Histogram            *jsonPoints `json:"histogram"`
	ExponentialHistogram *jsonPoints `json:"exponentialHistogram"`
	Summary              *jsonPoints `json:"summary"`
}

type canonical struct {
	ProtocolVersion uint64       `json:"protocolVersion"`
	Spans           []jsonSpan   `json:"spans"`
	OpenSpans       []jsonSpan   `json:"openSpans"`
	Metrics         []jsonMetric `json:"metrics"`
}

type oracle struct {
	failures []string
	messages int
}

func (o *oracle) fail(name, format string, args ...any) {
	o.failures = append(o.failures, name+": "+fmt.Sprintf(format, args...))
}

// unknown returns the paths of unknown fields anywhere in m.
func unknown(m protoreflect.Message, path string) []string {
	var found []string
	if len(m.GetUnknown()) > 0 {
		p := path
		if p == "" {
			p = "/"
		}
		found = append(found, p)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				found = append(found, unknown(l.Get(i).Message(),
					fmt.Sprintf("%s/%s[%d]", path, fd.Name(), i))...)
			}
			return true
		}
		found = append(found, unknown(v.Message(), path+"/"+string(fd.Name()))...)
		return true
	})
	return found
}

// canon re-emits the message data of type md with the fields of every
// (sub)message stably sorted by field number. Go's marshaller emits oneof
// members after the other fields, so its deterministic output is compared
// with ptel's bytes in this form; ptel's own bytes must already be in it.
func canon(data []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	type field struct {
		num protowire.Number
		raw []byte
	}
	var fields []field
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, data[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		raw := data[:n+m]
		if fd := md.Fields().ByNumber(num); fd != nil && fd.Message() != nil && typ == protowire.BytesType {
			body, _ := protowire.ConsumeBytes(data[n:])
			sub, err := canon(body, fd.Message())
			if err != nil {
				return nil, err
			}
			raw = protowire.AppendBytes(protowire.AppendTag(nil, num, typ), sub)
		}
		fields = append(fields, field{num, raw})
		data = data[n+m:]
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].num < fields[j].num })
	var out []byte
	for _, f := range fields {
		out = append(out, f.raw...)
	}
	return out, nil
}

// decode unmarshals data into m (false when it cannot), checks for unknown
// fields, that data lists every message's fields in field-number order, and
// that the deterministic re-marshal is the same bytes up to that order.
func (o *oracle) decode(name string, data []byte, m proto.Message) bool {
	o.messages++
	if err := proto.Unmarshal(data, m); err != nil {
		o.fail(name, "unmarshal: %v", err)
		return false
	}
	for _, p := range unknown(m.ProtoReflect(), "") {
		o.fail(name, "unknown field at %s", p)
	}
	md := m.ProtoReflect().Descriptor()
	mine, err := canon(data, md)
	if err != nil || !bytes.Equal(mine, data) {
		o.fail(name, "fields not in field-number order (%v)", err)
		return true
	}
	again, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err == nil {
		again, err = canon(again, md)
	}
	if err != nil {
		o.fail(name, "re-marshal: %v", err)
	} else if !bytes.Equal(again, data) {
		o.fail(name, "re-marshal differs: %x vs %x", again, data)
	}
	return true
}

func attrKeys(kvs []*commonpb.KeyValue) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.GetKey()
	}
	return keys
}

func jsonKeys(kvs []jsonKV) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return keys
}

func (o *oracle) eq(name, what string, got, want any) {
	if fmt.Sprint(got) != fmt.Sprint(want) {
		o.fail(name, "%s: official %v, canonical JSON %v", what, got, want)
	}
}

func (o *oracle) compareSpan(name string, s *tracepb.Span, w jsonSpan) {
	o.eq(name, "name", s.GetName(), w.Name)
	o.eq(name, "traceId", hex.EncodeToString(s.GetTraceId()), w.TraceID)
	o.eq(name, "spanId", hex.EncodeToString(s.GetSpanId()), w.SpanID)
	o.eq(name, "parentSpanId", hex.EncodeToString(s.GetParentSpanId()), w.ParentSpanID)
	o.eq(name, "attribute keys", attrKeys(s.GetAttributes()), jsonKeys(w.Attributes))
	if len(s.GetEvents()) != len(w.Events) {
		o.fail(name, "events: official %d, canonical JSON %d", len(s.GetEvents()), len(w.Events))
	} else {
		for i, e := range s.GetEvents() {
			o.eq(name, fmt.Sprintf("events[%d].name", i), e.GetName(), w.Events[i].Name)
			o.eq(name, fmt.Sprintf("events[%d] attribute keys", i), attrKeys(e.GetAttributes()),
				jsonKeys(w.Events[i].Attributes))
		}
	}
	if len(s.GetLinks()) != len(w.Links) {
		o.fail(name, "links: official %d, canonical JSON %d", len(s.GetLinks()), len(w.Links))
	} else {
		for i, l := range s.GetLinks() {
			o.eq(name, fmt.Sprintf("links[%d].traceId", i), hex.EncodeToString(l.GetTraceId()), w.Links[i].TraceID)
			o.eq(name, fmt.Sprintf("links[%d].spanId", i), hex.EncodeToString(l.GetSpanId()), w.Links[i].SpanID)
		}
	}
}

func (o *oracle) compareMetric(name string, m *metricspb.Metric, w jsonMetric) {
	o.eq(name, "name", m.GetName(), w.Name)
	o.eq(name, "unit", m.GetUnit(), w.Unit)
	kind, n := "none", 0
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Sum:
		kind, n = "sum", len(d.Sum.GetDataPoints())
	case *metricspb.Metric_Gauge:
		kind, n = "gauge", len(d.Gauge.GetDataPoints())
	case *metricspb.Metric_Histogram:
		kind, n = "histogram", len(d.Histogram.GetDataPoints())
	case *metricspb.Metric_ExponentialHistogram:
		kind, n = "exponentialHistogram", len(d.ExponentialHistogram.GetDataPoints())
	case *metricspb.Metric_Summary:
		kind, n = "summary", len(d.Summary.GetDataPoints())
	}
	wkind, wn := "none", 0
	for _, c := range []struct {
		k string
		p *jsonPoints
	}{{"sum", w.Sum}, {"gauge", w.Gauge}, {"histogram", w.Histogram},
		{"exponentialHistogram", w.ExponentialHistogram}, {"summary", w.Summary}} {
		if c.p != nil {
			wkind, wn = c.k, len(c.p.DataPoints)
		}
	}
	o.eq(name, "data kind", kind, wkind)
	o.eq(name, "data points", n, wn)
}

// scenario checks one expected PluginTelemetry payload against its JSON.
func (o *oracle) scenario(name string, e expected) {
	data, err := hex.DecodeString(e.PayloadHex)
	if err != nil {
		o.fail(name, "payload_hex: %v", err)
		return
	}
	var want canonical
	if err := json.Unmarshal([]byte(e.JSON), &want); err != nil {
		o.fail(name, "canonical JSON: %v", err)
		return
	}
	var spans, open []*tracepb.Span
	var metrics []*metricspb.Metric
	var version uint64
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			o.fail(name, "envelope tag: %v", protowire.ParseError(n))
			return
		}
		data = data[n:]
		if typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(data)
			if m < 0 {
				o.fail(name, "envelope varint: %v", protowire.ParseError(m))
				return
			}
			if num == 1 {
				version = v
			}
			data = data[m:]
			continue
		}
		if typ != protowire.BytesType {
			o.fail(name, "envelope field %d: unexpected wire type %d", num, typ)
			return
		}
		body, m := protowire.ConsumeBytes(data)
		if m < 0 {
			o.fail(name, "envelope bytes: %v", protowire.ParseError(m))
			return
		}
		data = data[m:]
		switch num {
		case 2, 4:
			s := &tracepb.Span{}
			if !o.decode(fmt.Sprintf("%s span[%d]", name, len(spans)+len(open)), body, s) {
				continue
			}
			if num == 2 {
				spans = append(spans, s)
			} else {
				open = append(open, s)
			}
		case 3:
			mt := &metricspb.Metric{}
			if o.decode(fmt.Sprintf("%s metric[%d]", name, len(metrics)), body, mt) {
				metrics = append(metrics, mt)
			}
		}
	}
	o.eq(name, "protocolVersion", version, want.ProtocolVersion)
	if len(spans) != len(want.Spans) || len(open) != len(want.OpenSpans) ||
		len(metrics) != len(want.Metrics) {
		o.fail(name, "counts (spans, open spans, metrics): official %d %d %d, canonical JSON %d %d %d",
			len(spans), len(open), len(metrics), len(want.Spans), len(want.OpenSpans), len(want.Metrics))
		return
	}
	for i, s := range spans {
		o.compareSpan(fmt.Sprintf("%s spans[%d]", name, i), s, want.Spans[i])
	}
	for i, s := range open {
		o.compareSpan(fmt.Sprintf("%s openSpans[%d]", name, i), s, want.OpenSpans[i])
	}
	for i, m := range metrics {
		o.compareMetric(fmt.Sprintf("%s metrics[%d]", name, i), m, want.Metrics[i])
	}
}

// request checks one expected export request. The official collector
// packages import gRPC, which the root module does not require, so the
// request's single field (1: repeated ResourceSpans / ResourceMetrics, the
// only field of ExportTraceServiceRequest and ExportMetricsServiceRequest) is
// split with protowire and each element is decoded with the official type;
// any other outer field is an unknown field.
func (o *oracle) request(name, hexdata string, traces bool) {
	data, err := hex.DecodeString(hexdata)
	if err != nil {
		o.fail(name, "hex: %v", err)
		return
	}
	for i := 0; len(data) > 0; i++ {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			o.fail(name, "request tag: %v", protowire.ParseError(n))
			return
		}
		data = data[n:]
		if num != 1 || typ != protowire.BytesType {
			o.fail(name, "unknown field %d (wire type %d) in the request", num, typ)
			return
		}
		body, m := protowire.ConsumeBytes(data)
		if m < 0 {
			o.fail(name, "request bytes: %v", protowire.ParseError(m))
			return
		}
		data = data[m:]
		if traces {
			rs := &tracepb.ResourceSpans{}
			if !o.decode(fmt.Sprintf("%s resourceSpans[%d]", name, i), body, rs) {
				continue
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					if len(s.GetTraceId()) != 16 || len(s.GetSpanId()) != 8 || s.GetName() == "" {
						o.fail(name, "span %q: trace id %d bytes, span id %d bytes", s.GetName(),
							len(s.GetTraceId()), len(s.GetSpanId()))
					}
				}
			}
			continue
		}
		rm := &metricspb.ResourceMetrics{}
		if !o.decode(fmt.Sprintf("%s resourceMetrics[%d]", name, i), body, rm) {
			continue
		}
		for _, sm := range rm.GetScopeMetrics() {
			for _, mt := range sm.GetMetrics() {
				if mt.GetName() == "" || mt.GetData() == nil {
					o.fail(name, "metric %q without name or data", mt.GetName())
				}
			}
		}
	}
}

func main() {
	vectors := filepath.Join("conformance", "vectors")
	if len(os.Args) > 1 {
		vectors = os.Args[1]
	}
	o := &oracle{}
	payloads := 0
	for _, kind := range []string{"scenarios", "host"} {
		files, _ := filepath.Glob(filepath.Join(vectors, kind, "*.json"))
		sort.Strings(files)
		if len(files) == 0 {
			o.fail(kind, "no vector files in %s", filepath.Join(vectors, kind))
		}
		for _, path := range files {
			raw, err := os.ReadFile(path)
			if err != nil {
				o.fail(path, "%v", err)
				continue
			}
			var doc vectorFile
			if err := json.Unmarshal(raw, &doc); err != nil {
				o.fail(path, "%v", err)
				continue
			}
			for _, c := range doc.Cases {
				name := doc.Group + "/" + c.ID
				var e expected
				if err := json.Unmarshal(c.Expected, &e); err != nil {
					o.fail(name, "expected: %v", err)
					continue
				}
				payloads++
				if kind == "scenarios" {
					o.scenario(name, e)
					continue
				}
				o.request(name+" traces_hex", e.TracesHex, true)
				o.request(name+" metrics_hex", e.MetricsHex, false)
			}
		}
	}
	for _, f := range o.failures {
		fmt.Println("ORACLE FAIL go: " + f)
	}
	fmt.Printf("oracle: %d payloads and requests (%d OTLP messages) decoded with go.opentelemetry.io/proto/otlp, "+
		"re-marshalled to the same bytes (fields in number order), %d problems\n", payloads, o.messages, len(o.failures))
	if len(o.failures) > 0 {
		os.Exit(1)
	}
}
