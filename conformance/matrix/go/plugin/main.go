// Command plugin is the matrix plugin in Go (conformance/matrix/README.md):
// it reads one PluginContext frame on stdin, checks it against the
// environment carrier, records the scenario with a manual clock and
// counting ids, and writes one PluginTelemetry frame on stdout.
//
// Usage: plugin [ok|crash|garbage|invalid]
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"

	ptel "github.com/ptel-dev/ptel/bindings/go"
	"go.opentelemetry.io/otel/trace"
)

const timeBase = 1_700_000_000_000_000_000

// countingIDs hands out ids that are zero but for a counter in the last byte.
type countingIDs struct{ next byte }

func (c *countingIDs) NewSpanID() (id trace.SpanID) {
	c.next++
	id[7] = c.next
	return id
}

func scenario(rec *ptel.Recorder, clock *ptel.ManualClock) {
	bg := context.Background()
	sctx, scan := rec.Start(bg, "pii_filter.scan",
		ptel.WithSpanKind(ptel.SpanKindInternal),
		ptel.WithAttributes(
			ptel.String("pii.detector", "pattern"),
			ptel.Int64("pii.input.bytes", 72),
			ptel.Float64("pii.ratio", 0.25),
			ptel.Bool("pii.redact", true),
			ptel.StringSlice("pii.types", []string{"email", "phone"}),
			ptel.Bytes("pii.digest", []byte{0xde, 0xad, 0x00, 0xef}),
			ptel.KeyValue{Key: "pii.config", Value: ptel.MapValue(
				ptel.String("mode", "redact"), ptel.Int64("max", 32))}))
	clock.Set(1000)
	scan.AddEvent("pii.detected", ptel.String("pii.type", "email"), ptel.Int64("pii.offset", 8))
	det := rec.Int64Counter("pii.detections", ptel.WithUnit("{detection}"),
		ptel.WithDescription("PII detections by type"))
	det.Add(sctx, 2, ptel.String("pii.type", "email"))
	clock.Set(2000)
	_, redact := rec.Start(sctx, "pii_filter.redact", ptel.WithSpanKind(ptel.SpanKindInternal))
	redact.SetAttributes(ptel.Int64("pii.redacted.count", 2))
	clock.Set(3000)
	redact.End()
	clock.Set(4000)
	scan.SetStatus(ptel.StatusOK, "")
	scan.End()
	det.Add(bg, 1, ptel.String("pii.type", "phone"))
	dur := rec.Float64Histogram("pii.scan.duration", ptel.WithUnit("s"),
		ptel.WithDescription("Time to scan one input"), ptel.WithBounds(0.001, 0.01, 0.1, 1))
	dur.Record(bg, 0.004, ptel.String("pii.mode", "redact"))
	clock.Set(5000)
}

func frame(b []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(b)))
	return append(out, b...)
}

func run(mode string) int {
	in, err := io.ReadAll(io.LimitReader(os.Stdin, 65541))
	if err != nil || len(in) < 4 || int(binary.LittleEndian.Uint32(in)) != len(in)-4 {
		return 2
	}
	body := in[4:]
	envCtx, err1 := ptel.ContextFromEnv()
	ctx, err2 := ptel.DecodeContext(body)
	if err1 != nil || err2 != nil {
		return 3
	}
	a, err1 := envCtx.Encode()
	b, err2 := ctx.Encode()
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) || !bytes.Equal(b, body) {
		return 3
	}
	switch mode {
	case "crash":
		os.Stdout.Write([]byte{0x40, 0, 0, 0, 0x0a, 0x10})
		return 70
	case "invalid":
		os.Stdout.Write(frame([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}))
		return 0
	case "garbage":
		os.Stdout.Write([]byte("\xff\xff\xff\x7fgarbage"))
		return 0
	}
	clock := ptel.NewManualClock(timeBase)
	rec, err := ptel.NewRecorder(ctx, &ptel.RecorderOptions{Clock: clock, IDs: &countingIDs{}})
	if err != nil {
		return 4
	}
	defer rec.Close()
	scenario(rec, clock)
	payload, err := rec.Finish()
	if err != nil {
		return 4
	}
	if _, err := os.Stdout.Write(frame(payload)); err != nil {
		return 4
	}
	return 0
}

func main() {
	mode := "ok"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	os.Exit(run(mode))
}
