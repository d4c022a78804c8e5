package ptel

import (
	"context"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// ExporterKind says where an Exporter sends what it is given.
type ExporterKind uint32

// Exporter kinds (ptel_exporter_kind).
const (
	ExporterNone     ExporterKind = cExporterNone     // discard everything (OTEL_SDK_DISABLED=true)
	ExporterOTLPHTTP ExporterKind = cExporterOtlpHttp // OTLP/HTTP protobuf to a collector
	ExporterJSONL    ExporterKind = cExporterJsonl    // OTLP/JSON lines to a file or fd
	ExporterConsole  ExporterKind = cExporterConsole  // trace tree and metrics table to an fd
	ExporterMemory   ExporterKind = cExporterMemory   // keep the requests (tests)
)

// Compression of OTLP/HTTP bodies.
type Compression uint32

// Compressions (ptel_compression).
const (
	CompressionNone Compression = cCompressionNone
	CompressionGzip Compression = cCompressionGzip
)

// TemporalityPreference is OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
// Delta and LowMemory export the same for plugins' synchronous instruments.
type TemporalityPreference uint32

// Temporality preferences (ptel_temporality_preference).
const (
	PreferCumulative TemporalityPreference = cTemporalityPreferenceCumulative
	PreferDelta      TemporalityPreference = cTemporalityPreferenceDelta
	PreferLowMemory  TemporalityPreference = cTemporalityPreferenceLowmemory
)

// ExportSignal names one of an exporter's signals.
type ExportSignal uint32

// Signals (ptel_export_signal).
const (
	SignalTraces  ExportSignal = cExportSignalTraces
	SignalMetrics ExportSignal = cExportSignalMetrics
)

// ExportDrop says why an exporter dropped spans or data points.
type ExportDrop int

// Drop causes (ptel_export_drop); String gives their stable names.
const (
	DropQueueFull ExportDrop = cExportDropQueueFull // no room in the queue
	DropRejected  ExportDrop = cExportDropRejected  // a non-retryable HTTP status
	DropRetries   ExportDrop = cExportDropRetries   // retries ran out
	DropPartial   ExportDrop = cExportDropPartial   // the receiver's partial_success
	DropShutdown  ExportDrop = cExportDropShutdown  // still queued when shutdown ended
	DropError     ExportDrop = cExportDropError     // a local failure (file write, memory)
)

// String returns the drop cause's stable name ("queue_full").
func (d ExportDrop) String() string { return cExportDropName(int(d)) }

// ExporterOptions configure NewExporter. Start from DefaultExporterOptions
// or ExporterOptionsFromEnv: every field is used as it is, except that an
// empty Endpoint keeps the default and a zero Timeout, MaxQueueBytes,
// MaxQueueRequests, MaxBatchBytes, RetryInitial or RetryMax means the
// default. Durations are whole milliseconds (rounded up).
type ExporterOptions struct {
	Kind ExporterKind

	// OTLP/HTTP. Endpoint is the base URL ("v1/traces" and "v1/metrics"
	// are appended); a signal's endpoint is a full URL used as it is.
	Endpoint, TracesEndpoint, MetricsEndpoint string
	// Headers in the OTEL_EXPORTER_OTLP_HEADERS form "k=v,k2=v2".
	Headers, TracesHeaders, MetricsHeaders string
	Timeout                                time.Duration // per request
	Compression                            Compression

	// Resource: service.name, OTEL_RESOURCE_ATTRIBUTES-form attributes, and
	// more attributes that win over both.
	ServiceName        string
	ResourceAttributes string
	Resource           []KeyValue

	Temporality           TemporalityPreference
	MetricInterval        time.Duration // OTLP/HTTP metric cycle
	SelfTelemetry         bool          // export the ptel.host.* / ptel.exporter.* metrics
	IncludeInvocationSpan bool          // export the core's invocation span

	// Queue and batching (OTLP/HTTP).
	MaxQueueBytes, MaxQueueRequests, MaxBatchBytes uint32
	ScheduleDelay, RetryInitial, RetryMax          time.Duration
	RetryMaxElapsed                                time.Duration // 0 = no retries

	// JSON lines and console: append to Path, or write to FD when Path is
	// empty (not closed).
	Path         string
	FD           int
	ConsoleFlags uint32 // the core's ptel_console_flag bits

	Clock *ManualClock // nil = system clocks
}

// DefaultExporterOptions returns the core's defaults: JSON lines to stdout,
// self-telemetry on, the invocation span included.
func DefaultExporterOptions() ExporterOptions { return cExporterDefaults() }

// ExporterOptionsFromEnv returns the defaults with the standard OpenTelemetry
// variables applied (OTEL_SDK_DISABLED, OTEL_EXPORTER_OTLP_* endpoints,
// headers, timeouts and compression, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE);
// any endpoint selects ExporterOTLPHTTP. lookup nil reads the process
// environment. A variable with a bad value is ignored and reported with
// ErrValue (Error.Field is its ptel_exporter_env number); the options of
// the others are still returned.
func ExporterOptionsFromEnv(lookup func(string) (string, bool)) (ExporterOptions, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var vals [cEnvCount]string
	var set [cEnvCount]bool
	for k := 1; k < cEnvCount; k++ {
		v, ok := lookup(cExporterEnvName(k))
		// A value with a NUL cannot be a C string; it is treated as unset.
		if ok && !strings.ContainsRune(v, 0) {
			vals[k], set[k] = v, true
		}
	}
	return cExporterFromEnv(&vals, &set)
}

func ms(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min((d+time.Millisecond-1)/time.Millisecond, math.MaxUint32))
}

func msDuration(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }

func (o *ExporterOptions) record() []byte {
	var e enc
	e.reset()
	e.u32(uint32(o.Kind))
	for _, s := range [...]string{o.Endpoint, o.TracesEndpoint, o.MetricsEndpoint, o.Headers,
		o.TracesHeaders, o.MetricsHeaders} {
		e.str(s)
	}
	e.u32(ms(o.Timeout))
	e.u32(uint32(o.Compression))
	e.str(o.ServiceName)
	e.str(o.ResourceAttributes)
	e.attrs(o.Resource, 0)
	e.u32(uint32(o.Temporality))
	e.u32(ms(o.MetricInterval))
	e.bool(o.SelfTelemetry)
	e.bool(o.IncludeInvocationSpan)
	e.u32(o.MaxQueueBytes)
	e.u32(o.MaxQueueRequests)
	e.u32(o.MaxBatchBytes)
	for _, d := range [...]time.Duration{o.ScheduleDelay, o.RetryInitial, o.RetryMax, o.RetryMaxElapsed} {
		e.u32(ms(d))
	}
	e.str(o.Path)
	e.u32(uint32(int32(o.FD)))
	e.u32(o.ConsoleFlags)
	return e.done()
}

// SignalStats are an exporter's counters for one signal. Items are spans
// (invocation spans included) or data points.
type SignalStats struct {
	RequestsSubmitted uint64 // non-empty requests given to the exporter
	ItemsSubmitted    uint64
	ItemsSent         uint64                   // accepted by the receiver, written or kept
	ItemsDropped      [cExportDropCount]uint64 // by ExportDrop
	ExportsOK         uint64                   // batches that succeeded
	ExportsFailed     uint64                   // batches dropped
	Retries           uint64                   // attempts after the first
	QueuedItems       uint64                   // waiting or in flight now
	QueuedBytes       uint64
}

// Dropped returns the items dropped for any cause.
func (s *SignalStats) Dropped() uint64 {
	var n uint64
	for _, v := range s.ItemsDropped {
		n += v
	}
	return n
}

// ExporterStats are a consistent snapshot of an exporter's counters.
type ExporterStats struct {
	Traces, Metrics SignalStats
	Invocations     uint64 // invocations submitted
	QueueRequests   uint64 // requests queued now
	QueueBytes      uint64
	LastHTTPStatus  uint64 // of the last response; 0 when none
	raw             cExporterStatsRaw
}

// JSON renders the stats as one line of JSON, as the core (and `ptel send
// --stats`) does.
func (s *ExporterStats) JSON() string { return cExporterStatsJSON(&s.raw) }

// Exporter is the core's built-in exporter: OTLP/HTTP with a bounded queue,
// batching and retries on a background thread, or a synchronous JSON lines
// file, console or in-memory sink. Safe for concurrent use.
type Exporter struct {
	mu      sync.RWMutex
	c       unsafe.Pointer // *ptel_exporter
	cleanup runtime.Cleanup
	clock   *ManualClock
	closed  bool
}

// NewExporter creates an exporter; nil options are DefaultExporterOptions.
// For OTLP/HTTP it loads libcurl at run time (ErrUnsupported when it is
// missing) and starts its thread. Close it, or Shutdown then Close.
func NewExporter(opts *ExporterOptions) (*Exporter, error) {
	o := DefaultExporterOptions()
	if opts != nil {
		o = *opts
	}
	if strings.ContainsRune(o.Path, 0) {
		return nil, &Error{Code: ErrInvalidArgument, Op: "new exporter", Reason: "NUL in path"}
	}
	var clock unsafe.Pointer
	if o.Clock != nil {
		clock = o.Clock.p
	}
	c, err := cExporterNew(o.record(), clock)
	runtime.KeepAlive(o.Clock)
	if err != nil {
		return nil, err
	}
	x := &Exporter{c: c, clock: o.Clock}
	x.cleanup = runtime.AddCleanup(x, cExporterFree, c)
	return x, nil
}

func (x *Exporter) rlock(op string) error {
	if x == nil {
		return &Error{Code: ErrInvalidArgument, Op: op, Reason: "nil exporter"}
	}
	x.mu.RLock()
	if x.closed {
		x.mu.RUnlock()
		return &Error{Code: ErrState, Op: op, Reason: "exporter closed"}
	}
	return nil
}

// Submit hands over an ended invocation: its spans are queued or written,
// its metric deltas aggregated, its report counted in the self-telemetry.
// It never blocks on the network; a request dropped because the queue is
// full is counted, not an error. ErrState before the invocation's End or
// after Shutdown.
func (x *Exporter) Submit(inv *Invocation) error {
	if err := x.rlock("submit invocation"); err != nil {
		return err
	}
	defer x.mu.RUnlock()
	if err := inv.rlock("submit invocation"); err != nil {
		return err
	}
	defer inv.mu.RUnlock()
	err := cExporterSubmit(x.c, inv.c)
	runtime.KeepAlive(x.clock)
	return err
}

// SubmitTraces hands over an assembled ExportTraceServiceRequest (copied).
// A malformed request fails with ErrMalformed or ErrTruncated.
func (x *Exporter) SubmitTraces(request []byte) error { return x.submit(false, request) }

// SubmitMetrics hands over an ExportMetricsServiceRequest, exported as it is.
func (x *Exporter) SubmitMetrics(request []byte) error { return x.submit(true, request) }

func (x *Exporter) submit(metrics bool, req []byte) error {
	if err := x.rlock("submit request"); err != nil {
		return err
	}
	defer x.mu.RUnlock()
	return cExporterSubmitRequest(x.c, metrics, req)
}

// deadlineMS turns ctx's deadline into the core's millisecond deadline; no
// deadline waits as long as the core can (about 49 days).
func deadlineMS(ctx context.Context) uint32 {
	if ctx == nil {
		return math.MaxUint32
	}
	d, ok := ctx.Deadline()
	if !ok {
		return math.MaxUint32
	}
	if left := time.Until(d); left > 0 {
		return ms(left)
	}
	return 0
}

// Flush runs a metric cycle and waits until everything submitted before it
// was sent or dropped, or ctx's deadline passes (then ErrTimeout; the rest
// stays queued). Only the deadline is honoured: cancelling ctx does not cut
// a flush short.
func (x *Exporter) Flush(ctx context.Context) error {
	if err := x.rlock("flush exporter"); err != nil {
		return err
	}
	defer x.mu.RUnlock()
	err := cExporterFlush(x.c, deadlineMS(ctx), false)
	runtime.KeepAlive(x.clock)
	return err
}

// Shutdown flushes, waits up to ctx's deadline for the queue to drain,
// stops the thread and drops (counting them) whatever is left: ErrTimeout
// then. Later submits fail with ErrState; Stats and Close still work.
func (x *Exporter) Shutdown(ctx context.Context) error {
	if err := x.rlock("shutdown exporter"); err != nil {
		return err
	}
	defer x.mu.RUnlock()
	err := cExporterFlush(x.c, deadlineMS(ctx), true)
	runtime.KeepAlive(x.clock)
	return err
}

// Stats returns the exporter's counters (zero after Close).
func (x *Exporter) Stats() ExporterStats {
	if x.rlock("exporter stats") != nil {
		return ExporterStats{}
	}
	defer x.mu.RUnlock()
	return cExporterStats(x.c)
}

// MemoryRequests returns copies of the requests an ExporterMemory exporter
// holds for signal, in submission order (nil for other kinds).
func (x *Exporter) MemoryRequests(signal ExportSignal) [][]byte {
	if x == nil {
		return nil
	}
	// Exclusive: ClearMemory would free what is being copied.
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	return cExporterMemoryRequests(x.c, uint32(signal))
}

// ClearMemory releases the requests an ExporterMemory exporter holds.
func (x *Exporter) ClearMemory() {
	if x == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.closed {
		cExporterMemoryClear(x.c)
	}
}

// Close shuts the exporter down at once (dropping and counting what is
// still queued) and releases it. Idempotent; an exporter that is not closed
// is released when it becomes unreachable.
func (x *Exporter) Close() {
	if x == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return
	}
	x.closed = true
	x.cleanup.Stop()
	cExporterFree(x.c)
	x.c = nil
}
