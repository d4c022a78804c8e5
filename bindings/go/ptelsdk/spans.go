package ptelsdk

import (
	"context"
	"errors"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanProcessor is the host's span pipeline, registered with its
// TracerProvider in place of the processors it wraps:
//
//	spans := ptelsdk.NewSpanProcessor(sdktrace.NewBatchSpanProcessor(exporter))
//	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(spans))
//
// The host's own spans pass through it to the wrapped processors unchanged
// (OnStart and OnEnd, in order); validated plugin spans enter the same
// processors through OnEnd when an invocation ends. Processors registered
// with the TracerProvider outside it do not see plugin spans.
type SpanProcessor struct {
	procs []sdktrace.SpanProcessor
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

// NewSpanProcessor wraps the host's span processors (nil entries are
// skipped).
func NewSpanProcessor(procs ...sdktrace.SpanProcessor) *SpanProcessor {
	p := &SpanProcessor{}
	for _, q := range procs {
		if q != nil {
			p.procs = append(p.procs, q)
		}
	}
	return p
}

// OnStart passes a host span to the wrapped processors.
func (p *SpanProcessor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	for _, q := range p.procs {
		q.OnStart(ctx, s)
	}
}

// OnEnd passes an ended span (the host's, or a plugin's) to the wrapped
// processors.
func (p *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	for _, q := range p.procs {
		q.OnEnd(s)
	}
}

// Shutdown shuts every wrapped processor down and joins their errors.
func (p *SpanProcessor) Shutdown(ctx context.Context) error {
	var errs []error
	for _, q := range p.procs {
		errs = append(errs, q.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// ForceFlush flushes every wrapped processor and joins their errors.
func (p *SpanProcessor) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, q := range p.procs {
		errs = append(errs, q.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}
