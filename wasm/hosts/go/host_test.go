package wasmhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

const (
	parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	text   = "Contact jane.doe@example.com or call 415-555-0132; escalate to ops@example.org."
)

// wasmDir is build/wasm of `make wasm` (PTEL_WASM_DIR overrides).
func wasmDir(t testing.TB) string {
	d := os.Getenv("PTEL_WASM_DIR")
	if d == "" {
		d = "../../../build/wasm"
	}
	if _, err := os.Stat(filepath.Join(d, "pii_filter.wasm")); err != nil {
		t.Fatalf("run make wasm first: %v", err)
	}
	return d
}

func load(t testing.TB, name string, opts Options) *Plugin {
	b, err := os.ReadFile(filepath.Join(wasmDir(t), name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func begin(t testing.TB, opts *ptel.InvocationOptions) *ptel.Invocation {
	if opts == nil {
		opts = &ptel.InvocationOptions{PluginName: "pii", Hook: "pre_invoke"}
	}
	inv, err := ptel.BeginInvocationW3C(parent, "", "", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inv.Close)
	return inv
}

type span struct {
	Name         string
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Status       struct{ Code int }
	Events       []struct{ Name string }
	Attributes   []struct {
		Key   string
		Value map[string]any
	}
}

func (s span) attr(k string) any {
	for _, a := range s.Attributes {
		if a.Key == k {
			for _, v := range a.Value {
				return v
			}
		}
	}
	return nil
}

func spans(t *testing.T, inv *ptel.Invocation) map[string]span {
	b, err := inv.TracesJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ResourceSpans []struct{ ScopeSpans []struct{ Spans []span } }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	m := map[string]span{}
	for _, rs := range doc.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				m[s.Name] = s
			}
		}
	}
	return m
}

func native(t *testing.T, name string, ctxBytes []byte, input string) []byte {
	dir := t.TempDir()
	ctxFile, out := filepath.Join(dir, "ctx.bin"), filepath.Join(dir, "out.bin")
	if err := os.WriteFile(ctxFile, ctxBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(wasmDir(t), "native", name), "--deterministic", ctxFile, input, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPIIFilterRedactsAndRecords(t *testing.T) {
	p := load(t, "pii_filter", Options{})
	inv := begin(t, nil)
	r, err := p.Invoke(context.Background(), inv, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := "Contact ******************** or call ************; escalate to ***************."
	if r.Outcome != ptel.OutcomeOK || string(r.Output) != want {
		t.Fatalf("outcome %v output %q", r.Outcome, r.Output)
	}
	if r.Report.SpansAccepted != 2 || r.Report.MetricsAccepted != 2 || r.Report.PointsAccepted != 3 {
		t.Fatalf("report %+v", r.Report)
	}
	s := spans(t, inv)
	detect, redact := s["pii_filter.detect"], s["pii_filter.redact"]
	if detect.ParentSpanID != s["plugin.execute"].SpanID || redact.ParentSpanID != detect.SpanID {
		t.Fatalf("parents: %+v", s)
	}
	if detect.attr("pii.detections") != "3" || len(detect.Events) != 3 {
		t.Fatalf("detect span %+v", detect)
	}
}

func TestPayloadEqualsNative(t *testing.T) {
	p := load(t, "pii_filter", Options{Deterministic: true})
	for _, in := range []string{text, "", "no pii here", "call 0044-20-7946-0958 now"} {
		inv := begin(t, nil)
		cb, err := inv.ContextBytes()
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Invoke(context.Background(), inv, []byte(in))
		if err != nil || len(r.Payload) == 0 {
			t.Fatalf("%v %+v", err, r)
		}
		if want := native(t, "pii_filter", cb, in); !bytes.Equal(r.Payload, want) {
			t.Fatalf("input %q: wasm payload differs from native\n%x\n%x", in, r.Payload, want)
		}
	}
	rl := load(t, "rate_limiter", Options{Deterministic: true})
	inv := begin(t, nil)
	cb, _ := inv.ContextBytes()
	r, err := rl.Invoke(context.Background(), inv, []byte("carol"))
	if err != nil || !bytes.Equal(r.Payload, native(t, "rate_limiter", cb, "carol")) {
		t.Fatalf("rate limiter payload differs: %v", err)
	}
}

func TestRateLimiterKeepsState(t *testing.T) {
	p := load(t, "rate_limiter", Options{})
	var got []string
	for _, key := range []string{"alice", "alice", "bob", "alice", "alice"} {
		inv := begin(t, nil)
		r, err := p.Invoke(context.Background(), inv, []byte(key))
		if err != nil || r.Report.SpansAccepted != 1 {
			t.Fatalf("%v %+v", err, r.Report)
		}
		s := spans(t, inv)["rate_limiter.check"]
		if s.attr("ratelimit.key") != key || s.attr("ratelimit.decision") != string(r.Output) {
			t.Fatalf("span %+v", s)
		}
		got = append(got, string(r.Output))
	}
	if strings.Join(got, ",") != "allow,allow,allow,allow,deny" {
		t.Fatalf("decisions %v", got)
	}
}

func TestFaults(t *testing.T) {
	const pages = 32 // 2 MiB
	cases := []struct {
		mode, errorType, outcome string
		want                     ptel.Outcome
	}{
		{"trap", "wasm.trap.unreachable", "crash", ptel.OutcomeCrash},
		{"loop", "wasm.timeout", "timeout", ptel.OutcomeTimeout},
		{"oom", "wasm.trap.unreachable", "crash", ptel.OutcomeCrash},
		{"oob", "wasm.bad_result", "crash", ptel.OutcomeCrash},
		{"nopayload", "wasm.bad_result", "crash", ptel.OutcomeCrash},
	}
	p := load(t, "faults", Options{Timeout: 200 * time.Millisecond, MemoryLimitPages: pages})
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			inv := begin(t, nil)
			start := time.Now()
			r, err := p.Invoke(context.Background(), inv, []byte(c.mode))
			if err != nil {
				t.Fatal(err)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
			if r.Outcome != c.want || r.ErrorType != c.errorType || r.Payload != nil {
				t.Fatalf("%+v", r)
			}
			s := spans(t, inv)["plugin.execute"]
			if s.Status.Code != 2 || s.attr("error.type") != c.errorType ||
				s.attr("plugin.outcome") != c.outcome {
				t.Fatalf("invocation span %+v", s)
			}
			if p.MemorySize() != 0 {
				t.Fatal("faulted instance kept")
			}
			// The request continues on a fresh instance.
			r2, err := p.Invoke(context.Background(), begin(t, nil), []byte("ok"))
			if err != nil || r2.Outcome != ptel.OutcomeOK || r2.Report.Rejected {
				t.Fatalf("%v %+v", err, r2)
			}
			if m := p.MemorySize(); m == 0 || m > pages*65536 {
				t.Fatalf("memory %d", m)
			}
		})
	}
}

func TestGarbagePayloadIsRejected(t *testing.T) {
	p := load(t, "faults", Options{})
	inv := begin(t, nil)
	r, err := p.Invoke(context.Background(), inv, []byte("garbage"))
	if err != nil || r.Outcome != ptel.OutcomeOK || !r.Report.Rejected ||
		r.Report.FirstReason.String() != "malformed" {
		t.Fatalf("%v %+v", err, r)
	}
	if s := spans(t, inv); len(s) != 1 {
		t.Fatalf("spans %v", s)
	}
}

// testdata/*.wasm are compiled from the .wat files next to them.
func TestWrongABIVersionAndMissingExports(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile("testdata/abi_v2.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, b, Options{}); !errors.Is(err, ErrABI) ||
		!strings.Contains(err.Error(), "version 2") {
		t.Fatalf("abi v2: %v", err)
	}
	empty := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	if _, err := Load(ctx, empty, Options{}); !errors.Is(err, ErrABI) {
		t.Fatalf("empty module: %v", err)
	}
}

func TestNegativeGuestStatus(t *testing.T) {
	b, err := os.ReadFile("testdata/status_neg9.wasm")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	inv := begin(t, nil)
	r, err := p.Invoke(context.Background(), inv, []byte("x"))
	if err != nil || r.Outcome != ptel.OutcomeError || r.Status != -9 ||
		r.ErrorType != "ptel.guest_status" {
		t.Fatalf("%v %+v", err, r)
	}
	if s := spans(t, inv)["plugin.execute"]; s.attr("error.type") != "ptel.guest_status" {
		t.Fatalf("%+v", s)
	}
}

// The WASM boundary: a full invocation (begin, run, end) with the plugin
// that records nothing, against begin and end alone.
func BenchmarkHostOnly(b *testing.B) {
	for b.Loop() {
		inv, _ := ptel.BeginInvocationW3C(parent, "", "", nil)
		inv.End(nil, ptel.OutcomeOK, "")
		inv.Close()
	}
}

func BenchmarkWasmNull(b *testing.B) {
	p := load(b, "null_plugin", Options{})
	ctx := context.Background()
	for b.Loop() {
		inv, _ := ptel.BeginInvocationW3C(parent, "", "", nil)
		if _, err := p.Invoke(ctx, inv, nil); err != nil {
			b.Fatal(err)
		}
		inv.Close()
	}
}

func BenchmarkWasmPII(b *testing.B) {
	p := load(b, "pii_filter", Options{})
	ctx := context.Background()
	for b.Loop() {
		inv, _ := ptel.BeginInvocationW3C(parent, "", "", nil)
		if _, err := p.Invoke(ctx, inv, []byte(text)); err != nil {
			b.Fatal(err)
		}
		inv.Close()
	}
}

// A plugin that faults with span "work" open: the host salvages what it
// recorded ("step") and ends "work" with status ERROR and the fault's
// error.type; under the deadline that needs the revived instance.
func TestFaultEndsOpenSpansWithError(t *testing.T) {
	cases := []struct {
		mode, errorType string
		want            ptel.Outcome
	}{
		{"trap", "wasm.trap.unreachable", ptel.OutcomeCrash},
		{"loop", "wasm.timeout", ptel.OutcomeTimeout},
		{"oom", "wasm.trap.unreachable", ptel.OutcomeCrash},
	}
	p := load(t, "stuck_plugin", Options{Timeout: 200 * time.Millisecond, MemoryLimitPages: 32})
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			inv := begin(t, nil)
			r, err := p.Invoke(context.Background(), inv, []byte(c.mode))
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != c.want || r.ErrorType != c.errorType || len(r.Payload) == 0 {
				t.Fatalf("%+v", r)
			}
			if r.Report.Rejected || r.Report.SpansAccepted != 2 || r.Report.OpenSpans != 1 {
				t.Fatalf("report %+v", r.Report)
			}
			s := spans(t, inv)
			work, step, ex := s["work"], s["step"], s["plugin.execute"]
			if len(s) != 3 || work.Status.Code != 2 || work.attr("error.type") != c.errorType {
				t.Fatalf("spans %+v", s)
			}
			if step.Status.Code != 0 || step.attr("step.count") != "1" ||
				step.ParentSpanID != work.SpanID || work.ParentSpanID != ex.SpanID {
				t.Fatalf("step %+v work %+v", step, work)
			}
			if ex.attr("error.type") != c.errorType || p.MemorySize() != 0 {
				t.Fatalf("invocation span %+v, memory %d", ex, p.MemorySize())
			}
			r2, err := p.Invoke(context.Background(), begin(t, nil), []byte("ok"))
			if err != nil || r2.Outcome != ptel.OutcomeOK || r2.Report.OpenSpans != 1 {
				t.Fatalf("%v %+v", err, r2)
			}
		})
	}
}
