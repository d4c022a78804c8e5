package ptel_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

// seeds adds every file of the conformance corpus directories and the
// golden payloads as fuzz seeds.
func seeds(f *testing.F, dirs ...string) {
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join("..", "..", d))
		for _, p := range files {
			if st, err := os.Stat(p); err != nil || st.IsDir() || st.Size() > 1<<20 {
				continue
			}
			b, err := os.ReadFile(p)
			if err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzInvocationEnd is the host decode path: whatever a plugin hands back,
// End never fails the host, the report adds up, and what is exported is
// valid OTLP that the official Go types decode, with exactly the spans the
// report accepted.
func FuzzInvocationEnd(f *testing.F) {
	seeds(f, "fuzz/corpus/telemetry/*", "core/tests/golden/tel_*.bin")
	f.Add([]byte{})
	clock := ptel.NewManualClock(fxTimeBase)
	f.Fuzz(func(t *testing.T, payload []byte) {
		inv, err := ptel.BeginInvocation(hostCtx(), &ptel.InvocationOptions{PluginName: "p",
			SpanID: fxSpanID, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer inv.Close()
		rep, err := inv.End(payload, ptel.OutcomeOK, "")
		if err != nil && !rep.Rejected {
			t.Fatalf("End: %v without a rejection", err)
		}
		if rep.Rejected && rep.SpansAccepted+rep.MetricsAccepted != 0 {
			t.Fatalf("rejected payload with accepted data: %+v", rep)
		}
		if rep.Rejected != (rep.FirstReason >= 0 && rep.Reasons[rep.FirstReason] > 0 && err != nil) {
			t.Fatalf("inconsistent report %+v, err %v", rep, err)
		}
		traces, err := inv.ExportTraces(nil)
		if err != nil {
			t.Fatal(err)
		}
		td := decodeTraces(t, traces)
		if got, want := len(allSpans(td)), 1+int(rep.SpansAccepted); got != want {
			t.Fatalf("exported %d spans, report accepted %d (+1 invocation span)", got, rep.SpansAccepted)
		}
		metrics, err := inv.ExportMetrics(nil)
		if err != nil {
			t.Fatal(err)
		}
		md := decodeMetrics(t, metrics)
		n := 0
		for _, rm := range md.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				n += len(sm.Metrics)
			}
		}
		if n != int(rep.MetricsAccepted) {
			t.Fatalf("exported %d metrics, report accepted %d", n, rep.MetricsAccepted)
		}
		if _, err := ptel.RenderJSON(ptel.JSONTracesData, traces); err != nil {
			t.Fatalf("exported traces do not render: %v", err)
		}
		if _, err := ptel.RenderJSON(ptel.JSONMetricsData, metrics); err != nil {
			t.Fatalf("exported metrics do not render: %v", err)
		}
	})
}

// FuzzDecodeContext: decoding is total, and a decoded context re-encodes to
// bytes that decode to the same fields.
func FuzzDecodeContext(f *testing.F) {
	seeds(f, "fuzz/corpus/context/*", "core/tests/golden/ctx_*.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ptel.DecodeContext(b)
		if err != nil {
			return
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ptel.DecodeContext(enc)
		if err != nil {
			t.Fatalf("re-encoded context does not decode: %v", err)
		}
		if back.Fields() != c.Fields() {
			t.Fatalf("round trip changed the fields: %+v vs %+v", back.Fields(), c.Fields())
		}
	})
}

// FuzzRenderJSON: rendering any bytes as a PluginTelemetry is total.
func FuzzRenderJSON(f *testing.F) {
	seeds(f, "fuzz/corpus/json/*", "core/tests/golden/tel_*.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		js, err := ptel.RenderJSON(ptel.JSONPluginTelemetry, b)
		if err == nil && len(js) == 0 {
			t.Fatal("empty JSON without an error")
		}
	})
}

// Golden payloads pass a sampling host's validation whole.
func TestGoldenPayloadsPassTheHost(t *testing.T) {
	for _, gc := range goldenCases {
		payload, err := os.ReadFile(goldenPath(gc.name))
		mustNoErr(t, err)
		inv := beginFx(t, ptel.NewManualClock(fxTimeBase), nil)
		rep, err := inv.End(payload, ptel.OutcomeOK, "")
		mustNoErr(t, err)
		tel := decodeTelemetry(t, payload)
		eq(t, gc.name+" dropped", rep.SpansDropped, 0)
		eq(t, gc.name+" accepted", rep.SpansAccepted, uint32(len(tel.Spans)+len(tel.Open)))
		eq(t, gc.name+" open", rep.OpenSpans, uint32(len(tel.Open)))
		eq(t, gc.name+" metrics", rep.MetricsAccepted, uint32(len(tel.Metrics)))
	}
}

// Many goroutines, each with its own recorder and invocations, finish into
// one aggregator: every count is exact (run under -race in make test).
func TestConcurrentRecordersIntoOneAggregator(t *testing.T) {
	const workers, rounds, spans = 16, 25, 4
	agg, err := ptel.NewAggregator(nil)
	mustNoErr(t, err)
	defer agg.Close()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var acceptedMu sync.Mutex
	accepted := uint32(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var rec *ptel.Recorder
			defer func() { rec.Close() }()
			for r := 0; r < rounds; r++ {
				inv, err := ptel.BeginInvocation(hostCtx(), &ptel.InvocationOptions{PluginName: "worker"})
				if err != nil {
					errs <- err
					return
				}
				pc, err := inv.Context()
				if err == nil {
					if rec == nil {
						rec, err = ptel.NewRecorder(pc, nil)
					} else {
						err = rec.Reset(pc)
					}
				}
				if err != nil {
					errs <- err
					return
				}
				calls := rec.Int64Counter("calls")
				lat := rec.Float64Histogram("latency", ptel.WithUnit("s"))
				for s := 0; s < spans; s++ {
					ctx, sp := rec.Start(bg, "step", ptel.WithAttributes(ptel.Int("w", w)))
					calls.Add(ctx, 1, ptel.Int("worker.mod", w%4))
					lat.Record(ctx, 0.001)
					sp.End()
				}
				payload, err := rec.Finish()
				if err == nil {
					var rep ptel.Report
					rep, err = inv.End(payload, ptel.OutcomeOK, "")
					acceptedMu.Lock()
					accepted += rep.SpansAccepted
					acceptedMu.Unlock()
				}
				if err == nil {
					err = agg.Add(inv)
				}
				inv.Close()
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eq(t, "accepted spans", accepted, workers*rounds*spans)
	st := agg.Stats()
	eq(t, "invocations", st.Invocations, workers*rounds)
	eq(t, "points", st.PointsAdded, workers*rounds*(4/4+1)) // one counter point and one histogram point each
	eq(t, "streams", st.Streams, 4+1)
	out, err := agg.Export(nil, ptel.TemporalityCumulative)
	mustNoErr(t, err)
	md := decodeMetrics(t, out)
	var total int64
	var count uint64
	for _, m := range md.ResourceMetrics[0].ScopeMetrics[0].Metrics {
		switch m.Name {
		case "calls":
			for _, p := range m.GetSum().DataPoints {
				total += p.GetAsInt()
				eq(t, "per-stream count", p.GetAsInt(), int64(workers/4*rounds*spans))
			}
		case "latency":
			count = m.GetHistogram().DataPoints[0].Count
		}
	}
	eq(t, "total calls", total, workers*rounds*spans)
	eq(t, "histogram count", count, workers*rounds*spans)
	_ = proto.Equal
}
