package ptel

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// IDGenerator supplies span ids. Recorders use the runtime's per-thread
// ChaCha8 generator (math/rand/v2) unless one is given; tests inject a
// deterministic one. An all-zero id is asked for again (four times, then the
// default generator is used).
type IDGenerator interface {
	NewSpanID() trace.SpanID
}

// ManualClock is a clock that only moves when told to, shared by the Go side
// and the C core (its state lives in C memory), for deterministic
// recordings. Realtime is the realtime at monotonic zero plus Monotonic.
type ManualClock struct {
	p       unsafe.Pointer // *gop_clock
	cleanup runtime.Cleanup
}

// NewManualClock returns a clock at monotonic 0 whose realtime is
// realtimeAtZero (Unix nanoseconds) plus the monotonic time.
func NewManualClock(realtimeAtZero uint64) *ManualClock {
	p := cClockNew(realtimeAtZero)
	if p == nil {
		panic("ptel: out of memory")
	}
	c := &ManualClock{p: p}
	c.cleanup = runtime.AddCleanup(c, cClockFree, p)
	return c
}

// Set sets the monotonic time in nanoseconds. It should never go backwards.
func (c *ManualClock) Set(mono uint64) {
	cClockStore(c.p, mono)
	runtime.KeepAlive(c)
}

// Advance moves the monotonic time forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	if d > 0 {
		c.Set(c.Monotonic() + uint64(d))
	}
}

// Monotonic returns the monotonic time in nanoseconds.
func (c *ManualClock) Monotonic() uint64 {
	v := cClockLoad(c.p)
	runtime.KeepAlive(c)
	return v
}

// Realtime returns the realtime in Unix nanoseconds.
func (c *ManualClock) Realtime() uint64 {
	v := cClockReal0(c.p) + cClockLoad(c.p)
	runtime.KeepAlive(c)
	return v
}

// RecorderOptions configure NewRecorder; nil means the defaults.
type RecorderOptions struct {
	Clock  *ManualClock // nil = system clocks
	IDs    IDGenerator  // nil = math/rand/v2
	Strict bool         // keep the first refused call's error for Err (tests)
}

// DropCounts say why calls were refused or data dropped; they are carried in
// the payload.
type DropCounts struct {
	Spans        uint32 // spans refused by the span_count limit
	Metrics      uint32 // instruments refused (limit, invalid name or unit, conflict)
	MetricPoints uint32 // measurements refused
	Errors       uint32 // API misuse: invalid arguments, calls in the wrong state
}

// Recorder records one plugin invocation's spans and metrics and encodes
// them as a PluginTelemetry payload. It is safe for concurrent use by
// several goroutines of the invocation. Use one recorder per concurrent
// invocation, and Reset it for the next one: a warm recorder allocates
// (nearly) nothing per span.
//
// Spans are buffered on the Go side and cross into the C core once, when
// they end. Under a DROP decision nothing crosses at all.
type Recorder struct {
	mu        sync.Mutex
	c         unsafe.Pointer // *gop_rec
	cleanup   runtime.Cleanup
	ctx       *Context
	clock     *ManualClock
	ids       IDGenerator
	strict    bool
	recording bool // read without the lock on the fast path; written under it
	finished  bool
	closed    bool
	gen       uint32 // incremented by Reset: handles of older invocations are stale

	traceID   trace.TraceID
	flags     uint8
	limits    Limits
	realBase  uint64 // the recorder's start, Unix ns
	goBase    time.Time
	monoBase  uint64
	traceStat *trace.TraceState // parsed lazily for SpanContext

	spans     []*spanData // reused across invocations; the first nspans are this one's
	nspans    int
	nodes     []spanCtx // context nodes of this invocation; never reused
	nodeNext  int
	dropSpans uint32
	dropErrs  uint32
	firstErr  error
	enc       enc
	tmp       []byte     // an overwritten attribute's new entry
	attrPool  []*attrSet // attribute buffers of ended spans, last in first out
}

// NewRecorder creates a recorder for one invocation under ctx.
func NewRecorder(ctx *Context, opts *RecorderOptions) (*Recorder, error) {
	if ctx == nil {
		return nil, &Error{Code: ErrInvalidArgument, Op: "new recorder", Reason: "nil context"}
	}
	r := &Recorder{ctx: ctx}
	if opts != nil {
		r.clock, r.ids, r.strict = opts.Clock, opts.IDs, opts.Strict
	}
	var clock unsafe.Pointer
	if r.clock != nil {
		clock = r.clock.p
	}
	p, now, err := cRecNew(ctx.c, clock, r.strict)
	if err != nil {
		return nil, err
	}
	r.c = p
	r.cleanup = runtime.AddCleanup(r, cRecFree, p)
	r.setup(now)
	return r, nil
}

func (r *Recorder) setup(now uint64) {
	f := &r.ctx.f
	r.traceID = f.TraceID
	r.flags = f.TraceFlags
	r.limits = r.ctx.limits
	features := f.Features
	if features == 0 {
		features = FeaturesV1
	}
	r.recording = f.Decision != DecisionDrop && features&FeatureSpans != 0
	r.finished = false
	r.realBase = now
	r.goBase = time.Now()
	if r.clock != nil {
		r.monoBase = cClockLoad(r.clock.p)
	}
	r.traceStat = nil
	r.nspans = 0
	r.nodes, r.nodeNext = nil, 0
	r.dropSpans, r.dropErrs = 0, 0
	r.firstErr = nil
}

// Reset rewinds the recorder for a new invocation under ctx, keeping its
// memory. Spans, contexts and instruments of the previous invocation become
// inert (calls on them do nothing).
func (r *Recorder) Reset(ctx *Context) error {
	if r == nil || ctx == nil {
		return &Error{Code: ErrInvalidArgument, Op: "reset recorder"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return &Error{Code: ErrState, Op: "reset recorder", Reason: "recorder closed"}
	}
	now, err := cRecReset(r.c, ctx.c)
	if err != nil {
		return err
	}
	r.ctx = ctx
	r.gen++
	r.setup(now)
	return nil
}

// Close releases the recorder's C memory. Later calls do nothing (Finish
// and Reset return ErrState). Close is idempotent; a recorder that is not
// closed is released when it becomes unreachable.
func (r *Recorder) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	r.recording = false
	r.cleanup.Stop()
	cRecFree(r.c)
	r.c = nil
}

// IsRecording reports whether spans are recorded (false under a DROP
// decision, and after Close).
func (r *Recorder) IsRecording() bool { return r != nil && r.recording }

// Context returns the context the recorder records under.
func (r *Recorder) Context() *Context {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctx
}

// Now returns the current time as the recorder stamps it: the recorder's
// start (the context's time base, or the realtime at creation) plus the
// monotonic time elapsed since.
func (r *Recorder) Now() time.Time {
	if r == nil {
		return time.Time{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.now()
	return time.Unix(0, int64(n))
}

func (r *Recorder) now() uint64 {
	if r.clock != nil {
		return r.realBase + (cClockLoad(r.clock.p) - r.monoBase)
	}
	return r.realBase + uint64(time.Since(r.goBase))
}

// Err returns the first refused call's error in strict mode (nil otherwise).
func (r *Recorder) Err() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstErr
}

// Drops returns the drop counters so far, including calls the Go side
// refused itself.
func (r *Recorder) Drops() DropCounts {
	if r == nil {
		return DropCounts{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return DropCounts{}
	}
	d := cRecDrops(r.c)
	d.Spans = satAdd(d.Spans, r.dropSpans)
	d.Errors = satAdd(d.Errors, r.dropErrs)
	return d
}

func satAdd(a, b uint32) uint32 {
	if a > ^uint32(0)-b {
		return ^uint32(0)
	}
	return a + b
}

// guard keeps a panic inside the package from reaching plugin code: it is
// counted as an error instead. Deferred by every locked entry point, after
// the unlock is deferred, so it runs with the lock held.
func (r *Recorder) guard() {
	if p := recover(); p != nil {
		r.dropErrs = satAdd(r.dropErrs, 1)
		r.noteErr(&Error{Code: ErrInvalidArgument, Op: "recover", Reason: fmt.Sprint(p)})
	}
}

func (r *Recorder) noteErr(err error) {
	if r.strict && r.firstErr == nil {
		r.firstErr = err
	}
}

// refuse counts a call the Go side refused.
func (r *Recorder) refuse(code ErrorCode, op string) {
	r.dropErrs = satAdd(r.dropErrs, 1)
	r.noteErr(&Error{Code: code, Op: op})
}

func (r *Recorder) check(rc int32, op string) {
	if rc != 0 {
		r.noteErr(&Error{Code: ErrorCode(rc), Op: op})
	}
}

func (r *Recorder) newID() trace.SpanID {
	if r.ids != nil {
		for tries := 0; tries < 4; tries++ {
			if id := r.ids.NewSpanID(); id.IsValid() {
				return id
			}
		}
	}
	var id trace.SpanID
	for {
		if v := rand.Uint64(); v != 0 {
			binary.LittleEndian.PutUint64(id[:], v)
			return id
		}
	}
}

// ---- spans ------------------------------------------------------------------------

const (
	spanOpen uint8 = iota + 1
	spanEnded
)

type event struct {
	name   string
	time   uint64
	off, n int // attributes in spanData.evAttrs
}

type link struct {
	traceID trace.TraceID
	spanID  trace.SpanID
	flags   uint8
	remote  bool
	ts      string
	off, n  int
}

// spanData is a span buffered on the Go side. Owned by its recorder and
// reused by later invocations; handles carry the generation they belong to.
type spanData struct {
	rec        *Recorder
	gen        uint32
	state      uint8
	id         trace.SpanID
	parent     *spanData // nil = the context's span
	name       string
	kind       SpanKind
	start, end uint64
	status     StatusCode
	desc       string

	attrs       *attrSet // nil once released
	events      []event
	extraEvents uint32
	links       []link
	extraLinks  uint32
	evAttrs     []KeyValue // attributes of events and links
}

// The attribute room each span starts with: keys and bytes.
const (
	spanAttrs     = 8
	spanAttrBytes = 256
)

func (r *Recorder) newSpan() *spanData {
	if r.nspans == len(r.spans) {
		n := len(r.spans)
		if n < 8 {
			n = 8
		}
		chunk := make([]spanData, n)
		for k := range chunk {
			chunk[k].rec = r
			r.spans = append(r.spans, &chunk[k])
		}
	}
	d := r.spans[r.nspans]
	r.nspans++
	d.parent = nil
	d.status, d.desc = StatusUnset, ""
	if d.attrs == nil {
		d.attrs = r.takeAttrs()
	}
	d.attrs.reset()
	d.events = d.events[:0]
	d.links = d.links[:0]
	d.evAttrs = d.evAttrs[:0]
	d.extraEvents, d.extraLinks = 0, 0
	return d
}

// takeAttrs returns the attribute buffers a span released last: spans
// mostly start where the previous one ended, so it writes into memory still
// in cache (buffers of their own would make every span of a large
// invocation touch cold memory). Only a recorder's first spans allocate.
func (r *Recorder) takeAttrs() *attrSet {
	if n := len(r.attrPool); n > 0 {
		a := r.attrPool[n-1]
		r.attrPool = r.attrPool[:n-1]
		return a
	}
	return &attrSet{b: make([]byte, 0, spanAttrBytes), slots: make([]attrSlot, 0, spanAttrs)}
}

// release drops references to the plugin's values once the span is in C
// and gives its attribute buffers back. It may run twice (End, Finish).
func (d *spanData) release() {
	if d.attrs != nil {
		d.attrs.reset()
		d.rec.attrPool = append(d.rec.attrPool, d.attrs)
		d.attrs = nil
	}
	clear(d.evAttrs)
	d.evAttrs = d.evAttrs[:0]
}

func (d *spanData) setAttrs(kvs []KeyValue, max uint32) {
	d.attrs.set(kvs, max, &d.rec.tmp)
}

func (d *spanData) addEvent(name string, t uint64, attrs []KeyValue, max uint32) {
	if uint32(len(d.events)) >= max {
		d.extraEvents = satAdd(d.extraEvents, 1)
		return
	}
	d.events = append(d.events, event{name: name, time: t, off: len(d.evAttrs), n: len(attrs)})
	d.evAttrs = append(d.evAttrs, attrs...)
}

func (d *spanData) setStatus(code StatusCode, desc string) {
	// OpenTelemetry: UNSET is ignored and OK is final; the description is
	// kept only for ERROR.
	if code == StatusUnset || d.status == StatusOK {
		return
	}
	d.status, d.desc = code, ""
	if code == StatusError {
		d.desc = desc
	}
}

// Link names another span, as in trace.Link.
type Link struct {
	SpanContext trace.SpanContext
	Attributes  []KeyValue
}

// addLink returns false when the link is invalid (the caller counts it).
func (d *spanData) addLink(l *Link, max uint32) bool {
	sc := l.SpanContext
	if !sc.IsValid() {
		return false
	}
	if uint32(len(d.links)) >= max {
		d.extraLinks = satAdd(d.extraLinks, 1)
		return true
	}
	k := link{traceID: sc.TraceID(), spanID: sc.SpanID(), flags: uint8(sc.TraceFlags()),
		remote: sc.IsRemote(), ts: sc.TraceState().String()}
	k.off, k.n = len(d.evAttrs), len(l.Attributes)
	d.evAttrs = append(d.evAttrs, l.Attributes...)
	d.links = append(d.links, k)
	return true
}

var zeroID trace.SpanID

// encodeSpan writes the span as a record for gop_span_record (end 0 = open).
func (r *Recorder) encodeSpan(d *spanData, end uint64) []byte {
	e := &r.enc
	e.reset()
	b := append(e.b, d.id[:]...)
	if d.parent != nil {
		b = append(b, d.parent.id[:]...)
	} else {
		b = append(b, zeroID[:]...)
	}
	b = binary.LittleEndian.AppendUint64(b, d.start)
	b = binary.LittleEndian.AppendUint64(b, end)
	b = binary.LittleEndian.AppendUint32(b, uint32(d.kind))
	b = binary.LittleEndian.AppendUint32(b, uint32(d.status))
	b = appendStr(b, d.name)
	e.b = appendStr(b, d.desc)
	d.attrs.appendTo(e)
	e.u32(uint32(len(d.events)))
	e.u32(d.extraEvents)
	e.ne += uint32(len(d.events))
	for k := range d.events {
		ev := &d.events[k]
		e.u64(ev.time)
		e.str(ev.name)
		e.attrs(d.evAttrs[ev.off:ev.off+ev.n], 0)
	}
	e.u32(uint32(len(d.links)))
	e.u32(d.extraLinks)
	e.nl += uint32(len(d.links))
	for k := range d.links {
		e.link(&d.links[k], d.evAttrs)
	}
	return e.done()
}

func (e *enc) link(l *link, pool []KeyValue) {
	e.b = append(e.b, l.traceID[:]...)
	e.b = append(e.b, l.spanID[:]...)
	e.u8(l.flags)
	if l.remote {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.str(l.ts)
	e.attrs(pool[l.off:l.off+l.n], 0)
}

// ---- the span handle and its context --------------------------------------------------

// Span is a handle to a span of a Recorder. It is a small value: copy it
// freely. The zero Span, and the spans of a disabled recorder, do nothing.
// Calls on a span that has ended are ignored (and counted as errors in the
// payload); calls on a span of an earlier invocation of a reset recorder
// are ignored.
type Span struct {
	r   *Recorder
	d   *spanData // nil = non-recording
	gen uint32
}

type spanKey struct{}

// spanCtx is the context.Context that carries a span. Nodes are allocated in
// per-invocation chunks and never modified after they are handed out.
type spanCtx struct {
	context.Context
	r   *Recorder
	d   *spanData // nil = a non-recording span of r
	gen uint32
}

func (c *spanCtx) Value(key any) any {
	if key == (spanKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *spanCtx) String() string { return "ptel.spanContext" }

func (r *Recorder) newNode(parent context.Context, d *spanData) *spanCtx {
	if r.nodeNext == len(r.nodes) {
		n := 2 * len(r.nodes)
		if n < 8 {
			n = 8
		} else if n > 256 {
			n = 256
		}
		r.nodes, r.nodeNext = make([]spanCtx, n), 0
	}
	c := &r.nodes[r.nodeNext]
	r.nodeNext++
	c.Context, c.r, c.d, c.gen = parent, r, d, r.gen
	return c
}

// spanCtxOf is ctx.Value(spanKey{}) without the interface call when ctx is
// a span's own context (a child started from its parent's context).
func spanCtxOf(ctx context.Context) *spanCtx {
	if c, ok := ctx.(*spanCtx); ok {
		return c
	}
	c, _ := ctx.Value(spanKey{}).(*spanCtx)
	return c
}

// SpanFromContext returns the ptel span carried by ctx, or the zero Span.
func SpanFromContext(ctx context.Context) Span {
	if ctx == nil {
		return Span{}
	}
	if c, ok := ctx.Value(spanKey{}).(*spanCtx); ok {
		return Span{r: c.r, d: c.d, gen: c.gen}
	}
	return Span{}
}

// ContextWithSpan returns a copy of ctx carrying s.
func ContextWithSpan(ctx context.Context, s Span) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return &spanCtx{Context: ctx, r: s.r, d: s.d, gen: s.gen}
}

// StartOption configures Start. Options are plain values: passing them
// allocates nothing.
type StartOption struct {
	kind    SpanKind
	ts      uint64
	attrs   []KeyValue
	links   []Link
	newRoot bool
}

// WithSpanKind sets the span kind (default INTERNAL).
func WithSpanKind(k SpanKind) StartOption { return StartOption{kind: k} }

// WithStartTime sets the start time (default: now).
func WithStartTime(t time.Time) StartOption { return StartOption{ts: unixNano(t)} }

// WithAttributes sets attributes at start.
func WithAttributes(kvs ...KeyValue) StartOption { return StartOption{attrs: kvs} }

// WithLinks adds links at start.
func WithLinks(ls ...Link) StartOption { return StartOption{links: ls} }

// WithNewRoot makes the span a child of the recorder context's span even
// when ctx carries a span.
func WithNewRoot() StartOption { return StartOption{newRoot: true} }

func unixNano(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() <= 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

// Start starts a span named name as a child of the span ctx carries (when it
// belongs to this recorder's current invocation) or of the context's span,
// and returns a context carrying it. Under a DROP decision it returns ctx
// and a non-recording span without any work.
func (r *Recorder) Start(ctx context.Context, name string, opts ...StartOption) (rctx context.Context, sp Span) {
	// Small enough to inline, so that the disabled path is a test and no
	// call. (start returns its results in the other order: this form stays
	// under the inlining budget.)
	if r != nil && r.recording {
		sp, rctx = r.start(ctx, name, opts)
		return
	}
	return ctx, Span{r: r}
}

func (r *Recorder) start(ctx context.Context, name string, opts []StartOption) (sp Span, rctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.guard()
	rctx, sp = ctx, Span{r: r}
	if !r.recording {
		return
	}
	if ctx == nil {
		ctx = context.Background()
		rctx = ctx
	}
	if r.finished {
		r.refuse(ErrState, "start span")
		return
	}
	var o StartOption
	for k := range opts {
		p := &opts[k]
		if p.kind != 0 {
			o.kind = p.kind
		}
		if p.ts != 0 {
			o.ts = p.ts
		}
		o.newRoot = o.newRoot || p.newRoot
	}
	var parent *spanData
	if !o.newRoot {
		if c := spanCtxOf(ctx); c != nil && c.r == r && c.gen == r.gen {
			if c.d == nil {
				return // a child of a non-recording span does not record either
			}
			parent = c.d
		}
	}
	if o.kind > SpanKindConsumer {
		r.refuse(ErrInvalidArgument, "start span")
		return
	}
	if uint32(r.nspans) >= r.limits.SpanCount {
		r.dropSpans = satAdd(r.dropSpans, 1)
		r.noteErr(&Error{Code: ErrLimit, Op: "start span"})
		return sp, r.newNode(ctx, nil)
	}
	d := r.newSpan()
	d.gen = r.gen
	d.state = spanOpen
	d.parent = parent
	d.id = r.newID()
	d.name = name
	d.kind = o.kind
	d.start = o.ts
	if d.start == 0 {
		d.start = r.now()
	}
	for k := range opts {
		if len(opts[k].attrs) > 0 {
			d.setAttrs(opts[k].attrs, r.limits.AttributeCount)
		}
		for j := range opts[k].links {
			if !d.addLink(&opts[k].links[j], r.limits.LinkCount) {
				r.refuse(ErrInvalidID, "add link")
			}
		}
	}
	return Span{r: r, d: d, gen: r.gen}, r.newNode(ctx, d)
}

// lock takes the recorder's lock when s is a live recording span of the
// current invocation. Calls on ended spans are counted as errors.
func (s Span) lock(op string) bool {
	r := s.r
	r.mu.Lock()
	if s.gen != r.gen || s.d.gen != s.gen || r.closed {
		r.mu.Unlock()
		return false
	}
	if s.d.state != spanOpen || r.finished {
		r.refuse(ErrState, op)
		r.mu.Unlock()
		return false
	}
	return true
}

// EndOption configures End.
type EndOption struct{ ts uint64 }

// WithEndTime sets the end time (default: now).
func WithEndTime(t time.Time) EndOption { return EndOption{ts: unixNano(t)} }

// End ends the span: this is when it crosses into the C core, once.
func (s Span) End(opts ...EndOption) {
	if s.d != nil { // the disabled path inlines to this test
		s.end(opts)
	}
}

func (s Span) end(opts []EndOption) {
	if !s.lock("end span") {
		return
	}
	r, d := s.r, s.d
	defer r.mu.Unlock()
	defer r.guard()
	end := uint64(0)
	for k := range opts {
		if opts[k].ts != 0 {
			end = opts[k].ts
		}
	}
	if end == 0 {
		end = r.now()
	}
	d.state = spanEnded
	r.check(cSpanRecord(r.c, r.encodeSpan(d, end), false), "end span")
	d.release()
}

// SetAttributes sets attributes; a key already set is overwritten in place.
// At most limits.attribute_count distinct keys are kept; the rest are
// counted in the span's dropped_attributes_count.
func (s Span) SetAttributes(kvs ...KeyValue) {
	if s.d == nil || len(kvs) == 0 || !s.lock("set attributes") {
		return
	}
	defer s.r.mu.Unlock()
	defer s.r.guard()
	s.d.setAttrs(kvs, s.r.limits.AttributeCount)
}

// AddEvent adds an event stamped now.
func (s Span) AddEvent(name string, attrs ...KeyValue) {
	if s.d == nil || !s.lock("add event") {
		return
	}
	defer s.r.mu.Unlock()
	defer s.r.guard()
	s.d.addEvent(name, s.r.now(), attrs, s.r.limits.EventCount)
}

// AddEventAt adds an event with an explicit time.
func (s Span) AddEventAt(name string, t time.Time, attrs ...KeyValue) {
	if s.d == nil || !s.lock("add event") {
		return
	}
	defer s.r.mu.Unlock()
	defer s.r.guard()
	ts := unixNano(t)
	if ts == 0 {
		ts = s.r.now()
	}
	s.d.addEvent(name, ts, attrs, s.r.limits.EventCount)
}

// AddLink adds a link to another span. A link with an invalid span context
// is refused (counted as an error).
func (s Span) AddLink(l Link) {
	if s.d == nil || !s.lock("add link") {
		return
	}
	defer s.r.mu.Unlock()
	defer s.r.guard()
	if !s.d.addLink(&l, s.r.limits.LinkCount) {
		s.r.refuse(ErrInvalidID, "add link")
	}
}

// SetStatus sets the status by OpenTelemetry's rules: StatusUnset is
// ignored, StatusOK is final, the description is kept only for StatusError.
func (s Span) SetStatus(code StatusCode, description string) {
	if s.d == nil || !s.lock("set status") {
		return
	}
	defer s.r.mu.Unlock()
	defer s.r.guard()
	if code > StatusError {
		s.r.refuse(ErrInvalidArgument, "set status")
		return
	}
	s.d.setStatus(code, description)
}

// SetName changes the span's name.
func (s Span) SetName(name string) {
	if s.d == nil || !s.lock("set name") {
		return
	}
	defer s.r.mu.Unlock()
	s.d.name = name
}

// RecordError records err as an "exception" event (exception.type is the
// error's Go type, exception.message its text) and sets status ERROR with
// the message, as the core's ptel_span_record_exception does. Unlike
// OpenTelemetry's RecordError it sets the status too. A nil err does nothing.
func (s Span) RecordError(err error, attrs ...KeyValue) {
	if err == nil || s.d == nil {
		return
	}
	typ, msg := errorText(err)
	s.recordException(typ, msg, "", 0, attrs)
}

// RecordErrorAt is RecordError with the event stamped at t (the zero time
// = now), for an error observed earlier than it is recorded.
func (s Span) RecordErrorAt(err error, t time.Time, attrs ...KeyValue) {
	if err == nil || s.d == nil {
		return
	}
	typ, msg := errorText(err)
	s.recordException(typ, msg, "", unixNano(t), attrs)
}

// errorText runs the plugin's Error method outside the recorder's lock and
// keeps a panic in it from escaping.
func errorText(err error) (typ, msg string) {
	typ = fmt.Sprintf("%T", err)
	defer func() {
		if recover() != nil {
			msg = "(panic in Error method)"
		}
	}()
	return typ, err.Error()
}

// RecordException records an "exception" event with exception.type,
// exception.message and exception.stacktrace (each left out when empty),
// then attrs, and sets status ERROR with the message.
func (s Span) RecordException(typ, message, stacktrace string, attrs ...KeyValue) {
	if s.d == nil {
		return
	}
	s.recordException(typ, message, stacktrace, 0, attrs)
}

// recordException stamps the event at ts (0 = now).
func (s Span) recordException(typ, message, stack string, ts uint64, extra []KeyValue) {
	if !s.lock("record exception") {
		return
	}
	r, d := s.r, s.d
	defer r.mu.Unlock()
	defer r.guard()
	attrs := make([]KeyValue, 0, 3+len(extra))
	if typ != "" {
		attrs = append(attrs, String("exception.type", typ))
	}
	if message != "" {
		attrs = append(attrs, String("exception.message", message))
	}
	if stack != "" {
		attrs = append(attrs, String("exception.stacktrace", stack))
	}
	attrs = append(attrs, extra...)
	if ts == 0 {
		ts = r.now()
	}
	d.addEvent("exception", ts, attrs, r.limits.EventCount)
	d.setStatus(StatusError, message)
}

// IsRecording reports whether the span records.
func (s Span) IsRecording() bool {
	if s.d == nil {
		return false
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.gen == s.r.gen && s.d.gen == s.gen && s.d.state == spanOpen && !s.r.finished
}

// SpanContext returns the span's identity for propagation: trace id, span
// id, trace flags and tracestate. A non-recording span of a recorder
// reports the recorder context's span, as the core does.
func (s Span) SpanContext() trace.SpanContext {
	r := s.r
	if r == nil {
		return trace.SpanContext{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return trace.SpanContext{}
	}
	if r.traceStat == nil {
		ts, _ := trace.ParseTraceState(r.ctx.f.TraceState)
		r.traceStat = &ts
	}
	cfg := trace.SpanContextConfig{
		TraceID:    r.ctx.f.TraceID,
		SpanID:     r.ctx.f.SpanID,
		TraceFlags: trace.TraceFlags(r.ctx.f.TraceFlags),
		TraceState: *r.traceStat,
		Remote:     r.ctx.f.Remote,
	}
	if s.d != nil && s.gen == r.gen && s.d.gen == s.gen {
		cfg.SpanID = s.d.id
		cfg.Remote = false
	}
	return trace.NewSpanContext(cfg)
}

// ---- finishing -------------------------------------------------------------------------

// Finish encodes the invocation's PluginTelemetry payload and returns a copy
// of it. Spans still open are reported as open spans (the host ends them
// with status ERROR). After Finish, recording calls are refused; Finish
// again returns the same payload.
func (r *Recorder) Finish() ([]byte, error) { return r.FinishTo(nil) }

// FinishTo is Finish appending the payload to dst (which may be reused
// between invocations to avoid the copy's allocation).
func (r *Recorder) FinishTo(dst []byte) (out []byte, err error) {
	if r == nil {
		return dst, &Error{Code: ErrInvalidArgument, Op: "finish"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			out, err = dst, &Error{Code: ErrInvalidArgument, Op: "finish", Reason: fmt.Sprint(p)}
		}
	}()
	if r.closed {
		return dst, &Error{Code: ErrState, Op: "finish", Reason: "recorder closed"}
	}
	if !r.finished {
		for k := 0; k < r.nspans; k++ {
			if d := r.spans[k]; d.state == spanOpen {
				r.check(cSpanRecord(r.c, r.encodeSpan(d, 0), true), "open span")
			}
		}
		r.finished = true
		out, err = cRecFinish(r.c, r.dropSpans, r.dropErrs, dst)
		r.dropSpans, r.dropErrs = 0, 0
	} else {
		out, err = cRecFinish(r.c, 0, 0, dst)
	}
	if err == nil {
		for k := 0; k < r.nspans; k++ {
			r.spans[k].release()
		}
	}
	return out, err
}
