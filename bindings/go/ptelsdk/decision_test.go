package ptelsdk_test

import (
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"github.com/ptel-dev/ptel/bindings/go/ptelsdk"
)

type recordOnly struct{}

func (recordOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly,
		Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}
func (recordOnly) Description() string { return "record only" }

// runPlugin records one span and one counter point under inv.
func runPlugin(t *testing.T, f *fixture, rec *ptel.Recorder) []byte {
	t.Helper()
	f.clock.Advance(10)
	ctx, s := rec.Start(bg, "pii_filter.scan")
	rec.Int64Counter("pii.detections", ptel.WithUnit("{detection}")).Add(ctx, 2)
	f.clock.Advance(10)
	s.End()
	return finish(t, rec)
}

// A recording, unsampled SDK span gives the plugin RECORD_ONLY; its spans
// reach the processors unsampled, and the SDK's exporting processors skip
// them as they skip the host's own.
func TestRecordOnlyInvocation(t *testing.T) {
	f := newFixture(t, recordOnly{}, nil)
	_, inv := f.begin(t, bg)
	if !inv.Span().IsRecording() || inv.Span().SpanContext().IsSampled() {
		t.Fatal("the sampler did not record without sampling")
	}
	rec := f.recorder(t, inv)
	if d := rec.Context().Decision(); d != ptel.DecisionRecordOnly {
		t.Fatalf("decision %v", d)
	}
	if _, err := inv.End(runPlugin(t, f, rec), ptel.OutcomeOK, ""); err != nil {
		t.Fatal(err)
	}
	got := f.all.stubs()
	if len(got) != 2 || got[0].Name != "pii_filter.scan" || got[1].Name != "plugin.execute" {
		t.Fatalf("spans %v", got)
	}
	if got[0].SpanContext.IsSampled() || got[0].Parent.SpanID() != got[1].SpanContext.SpanID() {
		t.Fatalf("plugin span %v under %v", got[0].SpanContext, got[0].Parent)
	}
	if n := len(f.mem.GetSpans()); n != 0 {
		t.Fatalf("the exporting processor exported %d unsampled spans", n)
	}
}

// An SDK span that does not record gives the plugin DROP: nothing reaches
// the span pipeline, but metrics, which do not depend on sampling, do.
func TestDroppedInvocation(t *testing.T) {
	f := newFixture(t, sdktrace.NeverSample(), nil)
	_, inv := f.begin(t, bg)
	rec := f.recorder(t, inv)
	if rec.IsRecording() || rec.Context().Decision() != ptel.DecisionDrop {
		t.Fatal("the plugin records under a dropped invocation span")
	}
	rep, err := inv.End(runPlugin(t, f, rec), ptel.OutcomeOK, "")
	if err != nil || rep.MetricsAccepted != 1 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	if n := len(f.all.stubs()); n != 0 {
		t.Fatalf("%d spans reached the pipeline", n)
	}
	if st := f.metrics.Stats(); st.Invocations != 1 || st.PointsAdded != 1 {
		t.Fatalf("aggregator %+v", st)
	}
}

// A rejected payload still ends the SDK span, with the outcome the core
// decided, and hands nothing else over.
func TestRejectedPayload(t *testing.T) {
	f := newFixture(t, sdktrace.AlwaysSample(), nil)
	_, inv := f.begin(t, bg)
	f.clock.Set(50)
	rep, err := inv.End([]byte{0x0a, 0xff}, ptel.OutcomeError, "plugin_failed")
	if !errors.Is(err, ptel.ErrRejected) || !rep.Rejected {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	got := f.all.stubs()
	if len(got) != 1 {
		t.Fatalf("%d spans, want the invocation span only", len(got))
	}
	s := got[0]
	if s.Status != (sdktrace.Status{Code: codes.Error}) || !s.EndTime.Equal(at(50)) {
		t.Fatalf("status %+v end %v", s.Status, s.EndTime)
	}
	want := map[attribute.Key]string{"plugin.outcome": "error", "error.type": "plugin_failed"}
	for _, kv := range s.Attributes {
		if v, ok := want[kv.Key]; ok {
			if kv.Value.AsString() != v {
				t.Fatalf("%s = %q", kv.Key, kv.Value.AsString())
			}
			delete(want, kv.Key)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing attributes %v in %v", want, s.Attributes)
	}
	if st := f.metrics.Stats(); st.Invocations != 1 || st.PointsAdded != 0 {
		t.Fatalf("aggregator %+v", st)
	}
}

// Begin with bad options fails without leaving an SDK span open.
func TestBeginInvalidOptions(t *testing.T) {
	f := newFixture(t, sdktrace.AlwaysSample(), nil)
	_, inv, err := f.host.Begin(bg, &ptel.InvocationOptions{PluginName: "p",
		Attributes: []ptel.KeyValue{ptel.String("", "empty key")}})
	if !errors.Is(err, ptel.ErrInvalidArgument) || inv != nil {
		t.Fatalf("inv %v, err %v", inv, err)
	}
	if got := f.all.stubs(); len(got) != 1 || got[0].Name != "plugin.execute" {
		t.Fatalf("spans %v", got)
	}
	var nilInv *ptelsdk.Invocation
	if _, err := nilInv.End(nil, ptel.OutcomeOK, ""); !errors.Is(err, ptel.ErrInvalidArgument) {
		t.Fatalf("nil End: %v", err)
	}
}
