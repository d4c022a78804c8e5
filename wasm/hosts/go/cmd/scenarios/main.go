// Command scenarios serves the conformance scenarios through the WASM guest
// ABI under the Go/wazero host (wasm/hosts/python/scenarios_wasm.py drives
// it and compares): one line in per case, {"context": ..., "ops_json": "..."}; the
// context is built with the Go binding, encoded, and passed with the ops to
// scenario_guest.wasm by Plugin.Call; one line out, {"status", "payload_hex",
// "output"}, {"fault": error.type} or {"error": why the host failed}.
//
//	scenarios <scenario_guest.wasm>
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	wasmhost "github.com/ptel-dev/ptel/wasm/hosts/go"
)

const defaultT = 1_000_000_000_000

type request struct {
	Context struct {
		Traceparent   string            `json:"traceparent"`
		Tracestate    string            `json:"tracestate"`
		Baggage       string            `json:"baggage"`
		Decision      string            `json:"decision"`
		PluginName    string            `json:"plugin_name"`
		PluginVersion string            `json:"plugin_version"`
		Hook          string            `json:"hook"`
		TimeBase      *uint64           `json:"time_base_unix_nano"`
		Limits        map[string]uint32 `json:"limits"`
	} `json:"context"`
	OpsJSON string `json:"ops_json"`
}

type answer struct {
	Status     *int32  `json:"status,omitempty"`
	PayloadHex *string `json:"payload_hex,omitempty"`
	Output     *string `json:"output,omitempty"`
	Fault      string  `json:"fault,omitempty"`
	Error      string  `json:"error,omitempty"`
}

var decisions = map[string]ptel.Decision{"drop": ptel.DecisionDrop,
	"record_only": ptel.DecisionRecordOnly, "record_and_sample": ptel.DecisionRecordAndSample}

func limits(m map[string]uint32) (ptel.Limits, error) {
	var l ptel.Limits
	fields := map[string]*uint32{
		"attribute_count": &l.AttributeCount, "attribute_value_length": &l.AttributeValueLength,
		"attribute_depth": &l.AttributeDepth, "event_count": &l.EventCount,
		"link_count": &l.LinkCount, "attributes_per_event": &l.AttributesPerEvent,
		"attributes_per_link": &l.AttributesPerLink, "span_count": &l.SpanCount,
		"metric_count": &l.MetricCount, "metric_cardinality": &l.MetricCardinality,
		"payload_bytes": &l.PayloadBytes,
	}
	for k, n := range m {
		f, ok := fields[k]
		if !ok {
			return l, fmt.Errorf("unknown limit %q", k)
		}
		*f = n
	}
	return l, nil
}

// contextBytes is the encoded PluginContext of a scenario (conformance/README.md 3).
func contextBytes(r *request) ([]byte, error) {
	c := &r.Context
	tp, err := ptel.ContextFromW3C(c.Traceparent, "", "")
	if err != nil {
		return nil, fmt.Errorf("traceparent: %w", err)
	}
	l, err := limits(c.Limits)
	if err != nil {
		return nil, err
	}
	dec, ok := decisions[c.Decision]
	if !ok {
		return nil, fmt.Errorf("decision %q", c.Decision)
	}
	base := uint64(defaultT)
	if c.TimeBase != nil {
		base = *c.TimeBase
	}
	psc := tp.SpanContext()
	ctx, err := ptel.NewContext(ptel.ContextFields{
		TraceID: psc.TraceID(), SpanID: psc.SpanID(), TraceFlags: uint8(psc.TraceFlags()),
		Remote: true, TraceState: c.Tracestate, Baggage: c.Baggage, Decision: dec,
		Limits: l, TimeBase: base, PluginName: c.PluginName,
		PluginVersion: c.PluginVersion, Hook: c.Hook,
	})
	if err != nil {
		return nil, fmt.Errorf("context: %w", err)
	}
	return ctx.Encode()
}

func serve(ctx context.Context, p *wasmhost.Plugin, line []byte) answer {
	var r request
	if err := json.Unmarshal(line, &r); err != nil {
		return answer{Error: err.Error()}
	}
	cb, err := contextBytes(&r)
	if err != nil {
		return answer{Error: err.Error()}
	}
	status, payload, output, err := p.Call(ctx, cb, []byte(r.OpsJSON))
	if fault, ok := err.(*wasmhost.Fault); ok {
		return answer{Fault: fault.ErrorType}
	} else if err != nil {
		return answer{Error: err.Error()}
	}
	h, o := hex.EncodeToString(payload), string(output)
	return answer{Status: &status, PayloadHex: &h, Output: &o}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: scenarios <scenario_guest.wasm>")
		os.Exit(2)
	}
	wasm, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	p, err := wasmhost.Load(ctx, wasm, wasmhost.Options{Timeout: 10 * time.Second,
		MemoryLimitPages: 1024})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer p.Close(ctx)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		if err := enc.Encode(serve(ctx, p, in.Bytes())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := out.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
