//! The plugin side: [`Recorder`] (one invocation's spans and metrics) and
//! [`Span`] (RAII: ends on drop).

use core::cell::{Cell, RefCell};
use core::ffi::c_int;
use core::fmt;
use core::marker::PhantomData;

use ptel_sys as sys;

use crate::attr::{AttrValue, KeyValue, with_attrs, with_attrs_once};
use crate::callbacks::{Clock, Hooks, IdGenerator, rust_allocator};
use crate::context::{Context, SpanContext};
use crate::error::{Error, ErrorKind, Result};

/// OTLP span kinds.
///
/// ```
/// assert_eq!(ptel::SpanKind::default(), ptel::SpanKind::Internal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// Internal operation (the default).
    #[default]
    Internal,
    /// Handles a remote request.
    Server,
    /// Makes a remote request.
    Client,
    /// Sends a message.
    Producer,
    /// Receives a message.
    Consumer,
}

impl SpanKind {
    fn to_c(self) -> u32 {
        match self {
            SpanKind::Internal => sys::PTEL_SPAN_KIND_INTERNAL,
            SpanKind::Server => sys::PTEL_SPAN_KIND_SERVER,
            SpanKind::Client => sys::PTEL_SPAN_KIND_CLIENT,
            SpanKind::Producer => sys::PTEL_SPAN_KIND_PRODUCER,
            SpanKind::Consumer => sys::PTEL_SPAN_KIND_CONSUMER,
        }
    }
}

/// OTLP status codes (see [`Span::set_status`]).
///
/// ```
/// assert_ne!(ptel::StatusCode::Ok, ptel::StatusCode::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusCode {
    /// No status; ignored by `set_status`.
    #[default]
    Unset,
    /// Success; final.
    Ok,
    /// Failure, with a description.
    Error,
}

impl StatusCode {
    fn to_c(self) -> u32 {
        match self {
            StatusCode::Unset => sys::PTEL_STATUS_UNSET,
            StatusCode::Ok => sys::PTEL_STATUS_OK,
            StatusCode::Error => sys::PTEL_STATUS_ERROR,
        }
    }
}

/// What a recorder refused or dropped so far (also carried in the payload).
///
/// ```
/// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
/// let rec = ptel::Recorder::new(&ctx);
/// rec.i64_counter("bad name!").build().add(1, &[]);
/// assert_eq!(rec.drops().metrics, 1);
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DropCounts {
    /// Spans refused by the span_count limit.
    pub spans: u32,
    /// Instruments refused (limit, invalid name or unit, conflict).
    pub metrics: u32,
    /// Measurements refused (invalid value or instrument).
    pub metric_points: u32,
    /// API misuse: invalid arguments, calls in the wrong state.
    pub errors: u32,
}

/// One invocation's recorder: spans and metrics in one arena, encoded by
/// [`Recorder::finish`] as the PluginTelemetry payload to hand back.
///
/// Telemetry never fails the plugin: no method here panics or returns an
/// error to handle; refused calls are counted ([`Recorder::drops`]). A
/// recorder built with [`RecorderBuilder::strict`] also collects the errors
/// for tests ([`Recorder::take_errors`]).
///
/// `Send` but not `Sync`: one thread at a time, as the C recorder requires.
/// Spans and instruments borrow it, so it cannot move to another thread, be
/// reset or finish while one is alive.
///
/// ```
/// let ctx = ptel::Context::from_w3c(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
/// let mut rec = ptel::Recorder::new(&ctx);
/// {
///     let span = rec.span("pii.scan");
///     span.set_attribute("bytes", 42);
///     rec.i64_counter("pii.detections").with_unit("{detection}").build()
///         .add(1, &[ptel::KeyValue::new("pii.type", "email")]);
/// } // the span ends here
/// let payload: &[u8] = rec.finish();
/// assert_eq!(payload[..2], [0x08, 0x01]);
/// # Ok::<(), ptel::Error>(())
/// ```
pub struct Recorder {
    raw: *mut sys::ptel_recorder,
    ctx: Context,
    _hooks: Option<Box<Hooks>>,
    recording: bool,
    /// The recorder's non-recording span (only looked up when not recording).
    nonrec: *mut sys::ptel_span,
    /// The innermost live span: parent of new spans and exemplar of
    /// measurements by default.
    active: Cell<*mut sys::ptel_span>,
    strict: bool,
    errors: RefCell<Vec<Error>>,
}

// SAFETY: the C recorder has no thread affinity, only no concurrency; the
// struct owns it exclusively, and the callbacks in `_hooks` are Send + Sync.
// `Cell`/`RefCell` keep it !Sync.
unsafe impl Send for Recorder {}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("recording", &self.recording)
            .field("strict", &self.strict)
            .field("drops", &self.drops())
            .finish_non_exhaustive()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // SAFETY: raw is NULL or the recorder this struct owns; freed once.
        unsafe { sys::ptel_recorder_free(self.raw) }
    }
}

/// Options of a [`Recorder`] (see [`Recorder::builder`]).
///
/// ```
/// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
/// let rec = ptel::Recorder::builder(&ctx).strict(true).build()?;
/// assert!(rec.is_strict());
/// # Ok::<(), ptel::Error>(())
/// ```
#[must_use]
pub struct RecorderBuilder<'c> {
    ctx: &'c Context,
    strict: bool,
    clock: Option<Box<dyn Clock>>,
    ids: Option<Box<dyn IdGenerator>>,
}

impl RecorderBuilder<'_> {
    /// Strict mode, for tests: the C calls return their errors instead of
    /// counting them, and the recorder collects them for
    /// [`Recorder::take_errors`]. Never panics either way.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::builder(&ctx).strict(true).build()?;
    /// rec.f64_counter("c").build().add(-1.0, &[]);
    /// assert_eq!(rec.take_errors()[0].kind(), ptel::ErrorKind::Value);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The clock that stamps spans (default: the system clocks).
    ///
    /// ```
    /// struct Frozen;
    /// impl ptel::Clock for Frozen {
    ///     fn monotonic_ns(&self) -> u64 { 5 }
    ///     fn realtime_ns(&self) -> u64 { 1_000 }
    /// }
    /// let ctx = ptel::Context::builder(ptel::SpanContext::new([1; 16], [2; 8], 1)).build()?;
    /// let rec = ptel::Recorder::builder(&ctx).clock(Frozen).build()?;
    /// assert_eq!(rec.now(), 1_000); // no time base: the clock's realtime
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// The id generator for span ids (default: an OS-seeded xoshiro256**).
    ///
    /// ```
    /// struct Sevens;
    /// impl ptel::IdGenerator for Sevens {
    ///     fn fill(&self, out: &mut [u8]) { out.fill(7) }
    /// }
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::builder(&ctx).id_generator(Sevens).build()?;
    /// assert_eq!(rec.span("s").context().span_id, [7; 8]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn id_generator(mut self, ids: impl IdGenerator) -> Self {
        self.ids = Some(Box::new(ids));
        self
    }

    /// Create the recorder. Fails only with [`ErrorKind::NoMem`];
    /// [`Recorder::new`] never fails.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::builder(&ctx).build()?;
    /// assert!(rec.is_recording());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn build(self) -> Result<Recorder> {
        let hooks = Hooks::new(self.clock, self.ids);
        let mut o = sys::ptel_recorder_options::default();
        // SAFETY: o is writable.
        unsafe { sys::ptel_recorder_options_init(&mut o) };
        o.allocator = rust_allocator();
        if let Some(h) = &hooks {
            o.clock = h.c_clock();
            o.ids = h.c_ids();
        }
        o.strict = self.strict;
        let mut raw = core::ptr::null_mut();
        // SAFETY: the context outlives the recorder (the Recorder keeps a
        // clone); the hooks are boxed and kept alive in the Recorder.
        let rc = unsafe { sys::ptel_recorder_new(&mut raw, self.ctx.as_ptr(), &o) };
        if rc != 0 || raw.is_null() {
            return Err(Error::from_code(if rc != 0 {
                rc
            } else {
                sys::PTEL_E_NOMEM
            }));
        }
        let mut rec = Recorder {
            raw,
            ctx: self.ctx.clone(),
            _hooks: hooks,
            recording: false,
            nonrec: core::ptr::null_mut(),
            active: Cell::new(core::ptr::null_mut()),
            strict: self.strict,
            errors: RefCell::new(Vec::new()),
        };
        rec.setup();
        Ok(rec)
    }
}

impl Recorder {
    /// A recorder for one invocation under `ctx` (kept alive by the
    /// recorder). Never fails: if the core cannot allocate, the recorder is
    /// disabled and [`Recorder::finish`] returns an empty payload ("no
    /// telemetry").
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", "")?;
    /// let rec = ptel::Recorder::new(&ctx);
    /// assert!(!rec.is_recording()); // sampled flag clear: DROP
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn new(ctx: &Context) -> Recorder {
        Recorder::builder(ctx).build().unwrap_or_else(|_| Recorder {
            raw: core::ptr::null_mut(),
            ctx: ctx.clone(),
            _hooks: None,
            recording: false,
            nonrec: core::ptr::null_mut(),
            active: Cell::new(core::ptr::null_mut()),
            strict: false,
            errors: RefCell::new(Vec::new()),
        })
    }

    /// Options: strict mode, clock, id generator.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::builder(&ctx).build()?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn builder(ctx: &Context) -> RecorderBuilder<'_> {
        RecorderBuilder {
            ctx,
            strict: false,
            clock: None,
            ids: None,
        }
    }

    fn setup(&mut self) {
        // SAFETY: raw is NULL or live.
        self.recording = unsafe { sys::ptel_recorder_is_recording(self.raw) };
        self.active.set(core::ptr::null_mut());
        self.nonrec = core::ptr::null_mut();
        if !self.recording && !self.raw.is_null() {
            let mut s = core::ptr::null_mut();
            // SAFETY: raw is live; a non-recording recorder hands out its
            // non-recording span without side effects.
            unsafe {
                sys::ptel_span_start(
                    &mut s,
                    self.raw,
                    core::ptr::null(),
                    core::ptr::null(),
                    0,
                    0,
                    0,
                )
            };
            self.nonrec = s;
        }
    }

    /// Rewind for a new invocation under `ctx`, keeping allocated memory (a
    /// warm recorder allocates nothing per span).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let mut rec = ptel::Recorder::new(&ctx);
    /// rec.span("first");
    /// let one = rec.finish().to_vec();
    /// rec.reset(&ctx);
    /// rec.span("first");
    /// assert_eq!(rec.finish().len(), one.len());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn reset(&mut self, ctx: &Context) {
        if self.raw.is_null() {
            *self = Recorder::new(ctx);
            return;
        }
        // SAFETY: raw is live and no span borrows it (&mut self); the new
        // context is kept alive by the clone stored below.
        let rc = unsafe { sys::ptel_recorder_reset(self.raw, ctx.as_ptr()) };
        self.ctx = ctx.clone();
        self.note(rc);
        self.setup();
    }

    #[cold]
    #[inline(never)]
    fn note_error(&self, rc: c_int) {
        if let Ok(mut errors) = self.errors.try_borrow_mut() {
            errors.push(Error::from_code(rc));
        }
    }

    /// Remember a non-zero status (strict mode returns them).
    #[inline]
    pub(crate) fn note(&self, rc: c_int) {
        if rc != 0 {
            self.note_error(rc);
        }
    }

    pub(crate) fn raw(&self) -> *mut sys::ptel_recorder {
        self.raw
    }

    pub(crate) fn active(&self) -> *mut sys::ptel_span {
        self.active.get()
    }

    /// True when the host's decision lets this recorder record spans.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert!(ptel::Recorder::new(&ctx).is_recording());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// True for a recorder built with [`RecorderBuilder::strict`].
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert!(!ptel::Recorder::new(&ctx).is_strict());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The context this recorder records under.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::new(&ctx);
    /// assert_eq!(rec.context().span_context(), ctx.span_context());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Current time as spans are stamped: the context's time base plus the
    /// monotonic time elapsed since the recorder started (Unix ns).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert!(ptel::Recorder::new(&ctx).now() > 1_600_000_000_000_000_000);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn now(&self) -> u64 {
        // SAFETY: raw is NULL (returns 0) or live.
        unsafe { sys::ptel_recorder_now(self.raw) }
    }

    /// The drop counters so far.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ptel::Recorder::new(&ctx).drops(), ptel::DropCounts::default());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn drops(&self) -> DropCounts {
        let mut d = sys::ptel_drop_counts::default();
        if !self.raw.is_null() {
            // SAFETY: raw is live; d is writable.
            unsafe { sys::ptel_recorder_drops(self.raw, &mut d) };
        }
        DropCounts {
            spans: d.spans,
            metrics: d.metrics,
            metric_points: d.metric_points,
            errors: d.errors,
        }
    }

    /// The errors collected so far (strict mode; in the default mode the core
    /// counts refusals instead and this is normally empty), clearing them.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::builder(&ctx).strict(true).build()?;
    /// rec.span("ok");
    /// assert!(rec.take_errors().is_empty());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn take_errors(&self) -> Vec<Error> {
        self.errors
            .try_borrow_mut()
            .map(|mut e| core::mem::take(&mut *e))
            .unwrap_or_default()
    }

    /// Start a span named `name`, a child of the innermost live span of this
    /// recorder (or of the context's span when there is none). It ends when
    /// dropped.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::new(&ctx);
    /// let outer = rec.span("outer");
    /// let inner = rec.span("inner");
    /// assert_ne!(inner.context().span_id, outer.context().span_id);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn span<'r>(&'r self, name: &str) -> Span<'r> {
        self.span_builder(name).start()
    }

    /// A span with options: kind, parent, start time, span id.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let rec = ptel::Recorder::new(&ctx);
    /// let span = rec.span_builder("call").kind(ptel::SpanKind::Client).root().start();
    /// assert!(span.is_recording());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn span_builder<'r, 'n>(&'r self, name: &'n str) -> SpanBuilder<'r, 'n> {
        SpanBuilder {
            rec: self,
            name,
            kind: SpanKind::Internal,
            parent: Parent::Active,
            start: 0,
            span_id: None,
        }
    }

    /// Encode the invocation's PluginTelemetry and return it (valid until the
    /// recorder is reset or dropped). Spans still open (leaked with
    /// `mem::forget`) are reported as open spans. Later recording calls are
    /// refused; calling it again returns the same bytes. Never fails: on an
    /// allocation failure the payload is empty.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let mut rec = ptel::Recorder::new(&ctx);
    /// assert_eq!(rec.finish(), &[0x08, 0x01]); // just the protocol version
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn finish(&mut self) -> &[u8] {
        match self.finish_raw() {
            Ok((p, len)) => payload(p, len),
            Err(e) => {
                self.note(e.code());
                &[]
            }
        }
    }

    /// As [`Recorder::finish`], reporting a failure instead of returning an
    /// empty payload.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let mut rec = ptel::Recorder::new(&ctx);
    /// assert_eq!(rec.try_finish()?, &[0x08, 0x01]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn try_finish(&mut self) -> Result<&[u8]> {
        let (p, len) = self.finish_raw()?;
        Ok(payload(p, len))
    }

    fn finish_raw(&mut self) -> Result<(*const u8, usize)> {
        if self.raw.is_null() {
            return Err(Error::new(ErrorKind::NoMem));
        }
        self.active.set(core::ptr::null_mut());
        let mut p: *const u8 = core::ptr::null();
        let mut len = 0usize;
        // SAFETY: raw is live and no span borrows it.
        let rc = unsafe { sys::ptel_recorder_finish(self.raw, &mut p, &mut len) };
        crate::error::check(rc)?;
        Ok((p, len))
    }

    /// Encode the payload into `out` (cleared first), reusing its capacity:
    /// a host loop that keeps one `Vec` allocates nothing once warm.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let mut rec = ptel::Recorder::new(&ctx);
    /// let mut out = Vec::new();
    /// rec.finish_into(&mut out);
    /// assert_eq!(out, [0x08, 0x01]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn finish_into(&mut self, out: &mut Vec<u8>) {
        out.clear();
        if self.raw.is_null() {
            return;
        }
        self.active.set(core::ptr::null_mut());
        let raw = self.raw;
        // SAFETY: raw is live; the closure passes a writable buffer.
        let r = crate::size_query_into(out, |buf, cap, len| unsafe {
            sys::ptel_recorder_finish_into(raw, buf, cap, len)
        });
        if let Err(e) = r {
            out.clear();
            self.note(e.code());
        }
    }
}

/// The recorder's output buffer as a slice. The caller ties the lifetime to
/// `&mut Recorder`: the buffer stays valid until reset or free, which both
/// need `&mut self`.
fn payload<'a>(p: *const u8, len: usize) -> &'a [u8] {
    if p.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: p points to len bytes owned by the recorder (see above).
    unsafe { core::slice::from_raw_parts(p, len) }
}

enum Parent<'r> {
    Active,
    Root,
    Span(*mut sys::ptel_span, PhantomData<&'r ()>),
}

/// Options for a span (see [`Recorder::span_builder`]).
///
/// ```
/// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
/// let rec = ptel::Recorder::new(&ctx);
/// let s = rec.span_builder("s").kind(ptel::SpanKind::Server).start_time(rec.now()).start();
/// # Ok::<(), ptel::Error>(())
/// ```
#[must_use = "a span builder does nothing until `start` is called"]
pub struct SpanBuilder<'r, 'n> {
    rec: &'r Recorder,
    name: &'n str,
    kind: SpanKind,
    parent: Parent<'r>,
    start: u64,
    span_id: Option<[u8; 8]>,
}

impl<'r> SpanBuilder<'r, '_> {
    /// The span kind (default internal).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span_builder("rpc").kind(ptel::SpanKind::Client).start();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Make the span a child of `parent` (a span of the same recorder).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let a = rec.span("a");
    /// let b = rec.span("b");
    /// let c = rec.span_builder("c").parent(&a).start(); // not a child of b
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn parent(mut self, parent: &Span<'r>) -> Self {
        self.parent = Parent::Span(parent.raw, PhantomData);
        self
    }

    /// Make the span a child of the context's span (the host's invocation
    /// span) even when another span is live.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let a = rec.span("a");
    /// let b = rec.span_builder("b").root().start();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    /// The start time in Unix ns (default: now).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span_builder("late").start_time(rec.now() - 1_000).start();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn start_time(mut self, unix_nano: u64) -> Self {
        self.start = unix_nano;
        self
    }

    /// Use this span id (non-zero, unique within the recorder) instead of a
    /// generated one.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span_builder("s").span_id([9; 8]).start();
    /// assert_eq!(s.context().span_id, [9; 8]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn span_id(mut self, id: [u8; 8]) -> Self {
        self.span_id = Some(id);
        self
    }

    /// Start the span. Never fails: when the recorder does not record, or a
    /// limit is reached, the span is non-recording (calls on it do nothing)
    /// but still carries a valid context for propagation.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", "")?;
    /// let rec = ptel::Recorder::new(&ctx); // DROP decision
    /// let s = rec.span("free");
    /// assert!(!s.is_recording());
    /// assert_eq!(s.context().trace_id, ctx.span_context().trace_id);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn start(self) -> Span<'r> {
        let rec = self.rec;
        if !rec.recording {
            return Span {
                rec,
                raw: rec.nonrec,
                live: false,
                prev: core::ptr::null_mut(),
            };
        }
        // Only the recording path unpacks the builder, so the disabled path
        // is one load and one branch.
        let parent = match self.parent {
            Parent::Active => rec.active.get(),
            Parent::Root => core::ptr::null_mut(),
            Parent::Span(p, _) => p,
        };
        start_span(
            rec,
            self.name,
            self.kind.to_c(),
            parent,
            self.start,
            self.span_id.as_ref(),
        )
    }
}

#[inline(never)]
fn start_span<'r>(
    rec: &'r Recorder,
    name: &str,
    kind: u32,
    parent: *mut sys::ptel_span,
    start: u64,
    span_id: Option<&[u8; 8]>,
) -> Span<'r> {
    let mut raw = core::ptr::null_mut();
    // SAFETY: rec.raw is live; parent is NULL or a span of a live recorder
    // (the borrow of its Span guarantees it); name is valid for the call.
    let rc = unsafe {
        match span_id {
            None => sys::ptel_span_start(
                &mut raw,
                rec.raw,
                parent,
                name.as_ptr().cast(),
                name.len(),
                kind,
                start,
            ),
            Some(id) => sys::ptel_span_start_with_id(
                &mut raw,
                rec.raw,
                parent,
                name.as_ptr().cast(),
                name.len(),
                kind,
                start,
                id.as_ptr(),
            ),
        }
    };
    rec.note(rc);
    if raw.is_null() {
        return Span {
            rec,
            raw,
            live: false,
            prev: core::ptr::null_mut(),
        };
    }
    let prev = rec.active.replace(raw);
    Span {
        rec,
        raw,
        live: true,
        prev,
    }
}

/// A span of a [`Recorder`]. It ends when dropped (or with [`Span::end`]);
/// until then it is the recorder's active span: the default parent of new
/// spans and the exemplar of measurements.
///
/// Every method is total: on a non-recording span, or after a refusal, calls
/// do nothing. Under a DROP decision starting and ending a span is one load
/// and one branch; the arguments of the calls in between are still built,
/// so guard expensive attribute construction with [`Span::is_recording`].
///
/// ```
/// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
/// use ptel::KeyValue;
/// let rec = ptel::Recorder::new(&ctx);
/// let span = rec.span("pii.scan");
/// span.set_attributes(&[KeyValue::new("bytes", 42), KeyValue::new("lang", "en")]);
/// span.add_event("pii.detected", &[KeyValue::new("pii.type", "email")]);
/// span.set_status(ptel::StatusCode::Error, "boom");
/// span.end();
/// # Ok::<(), ptel::Error>(())
/// ```
pub struct Span<'r> {
    rec: &'r Recorder,
    raw: *mut sys::ptel_span,
    live: bool,
    prev: *mut sys::ptel_span,
}

impl fmt::Debug for Span<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Span")
            .field("context", &self.context())
            .field("recording", &self.live)
            .finish()
    }
}

impl Drop for Span<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.live {
            self.end_raw(0);
        }
    }
}

impl<'r> Span<'r> {
    #[inline(never)]
    fn end_raw(&mut self, time: u64) {
        self.live = false;
        if self.rec.active.get() == self.raw {
            self.rec.active.set(self.prev);
        }
        // SAFETY: raw is a span of the live recorder borrowed by 'r.
        let rc = unsafe { sys::ptel_span_end(self.raw, time) };
        self.rec.note(rc);
    }

    /// Start a child of this span.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let parent = rec.span("parent");
    /// let child = parent.child("child").start();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn child<'n>(&self, name: &'n str) -> SpanBuilder<'r, 'n> {
        self.rec.span_builder(name).parent(self)
    }

    /// Set one attribute (a key already present is overwritten).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span("s");
    /// s.set_attribute("retry", true);
    /// s.set_attribute("ids", &[1i64, 2, 3][..]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn set_attribute<'a>(&self, key: &'a str, value: impl Into<AttrValue<'a>>) {
        if self.live {
            self.set_attributes(&[KeyValue::new(key, value)]);
        }
    }

    /// Set attributes. A new key beyond the attribute_count limit is
    /// dropped and counted; long strings are truncated (UTF-8 safe).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span("s");
    /// s.set_attributes(&[("a", 1).into(), ("b", "x").into()]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn set_attributes(&self, attrs: &[KeyValue<'_>]) {
        if self.live {
            self.set_attributes_slow(attrs);
        }
    }

    #[inline(never)]
    fn set_attributes_slow(&self, attrs: &[KeyValue<'_>]) {
        with_attrs(attrs, |p, n| {
            // SAFETY: raw is a live span; p points to n attributes valid for the call.
            let rc = unsafe { sys::ptel_span_set_attributes(self.raw, p, n) };
            self.rec.note(rc);
        });
    }

    /// Add an event stamped now.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// rec.span("s").add_event("cache.miss", &[]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn add_event(&self, name: &str, attrs: &[KeyValue<'_>]) {
        self.add_event_at(name, 0, attrs);
    }

    /// Add an event at `time_unix_nano` (0 = now).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span("s");
    /// s.add_event_at("tick", rec.now(), &[ptel::KeyValue::new("n", 1)]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn add_event_at(&self, name: &str, time_unix_nano: u64, attrs: &[KeyValue<'_>]) {
        if self.live {
            self.add_event_slow(name, time_unix_nano, attrs);
        }
    }

    #[inline(never)]
    fn add_event_slow(&self, name: &str, time_unix_nano: u64, attrs: &[KeyValue<'_>]) {
        let rc = with_attrs_once(attrs, |p, n| {
            // SAFETY: raw is live; name and the attributes are valid for the call.
            unsafe {
                sys::ptel_span_add_event(
                    self.raw,
                    name.as_ptr().cast(),
                    name.len(),
                    time_unix_nano,
                    p,
                    n,
                )
            }
        });
        self.rec.note(rc);
    }

    /// Add a link to another span context (`tracestate` may be empty).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let other = ptel::SpanContext::new([0xaa; 16], [0xbb; 8], 1);
    /// rec.span("batch").add_link(&other, "", &[ptel::KeyValue::new("item", 3)]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn add_link(&self, linked: &SpanContext, tracestate: &str, attrs: &[KeyValue<'_>]) {
        if !self.live {
            return;
        }
        let c = linked.to_c();
        let rc = with_attrs_once(attrs, |p, n| {
            // SAFETY: raw is live; everything passed is valid for the call.
            unsafe {
                sys::ptel_span_add_link(
                    self.raw,
                    &c,
                    tracestate.as_ptr().cast(),
                    tracestate.len(),
                    p,
                    n,
                )
            }
        });
        self.rec.note(rc);
    }

    /// Set the status by OpenTelemetry's rules: `Unset` is ignored, `Ok` is
    /// final, the description is kept only for `Error`.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// rec.span("s").set_status(ptel::StatusCode::Ok, "");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn set_status(&self, code: StatusCode, description: &str) {
        if self.live {
            self.set_status_slow(code, description);
        }
    }

    #[inline(never)]
    fn set_status_slow(&self, code: StatusCode, description: &str) {
        // SAFETY: raw is live; description is valid for the call.
        let rc = unsafe {
            sys::ptel_span_set_status(
                self.raw,
                code.to_c(),
                description.as_ptr().cast(),
                description.len(),
            )
        };
        self.rec.note(rc);
    }

    /// Record an exception: an `exception` event with `exception.type`,
    /// `exception.message` and `exception.stacktrace` (when given), and
    /// status ERROR with the message as description.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// rec.span("s").record_exception("TimeoutError", "upstream slow", Some("at fetch()"));
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn record_exception(&self, kind: &str, message: &str, stacktrace: Option<&str>) {
        self.record_exception_at(kind, message, stacktrace, 0);
    }

    /// As [`Span::record_exception`], at `time_unix_nano` (0 = now).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span("s");
    /// s.record_exception_at("E", "m", None, rec.now());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn record_exception_at(
        &self,
        kind: &str,
        message: &str,
        stacktrace: Option<&str>,
        time_unix_nano: u64,
    ) {
        if !self.live {
            return;
        }
        let (st, st_len) = match stacktrace {
            Some(s) => (s.as_ptr().cast(), s.len()),
            None => (core::ptr::null(), 0),
        };
        // SAFETY: raw is live; the strings are valid for the call.
        let rc = unsafe {
            sys::ptel_span_record_exception(
                self.raw,
                kind.as_ptr().cast(),
                kind.len(),
                message.as_ptr().cast(),
                message.len(),
                st,
                st_len,
                time_unix_nano,
            )
        };
        self.rec.note(rc);
    }

    /// Record a Rust error: `exception.type` is the error's type name,
    /// `exception.message` its `Display` text, and the `source()` chain goes
    /// into `exception.stacktrace` (one cause per line) when there is one.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let err = "x".parse::<i32>().unwrap_err();
    /// rec.span("parse").record_error(&err);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn record_error<E: std::error::Error + ?Sized>(&self, err: &E) {
        if !self.live {
            return;
        }
        let message = err.to_string();
        let mut chain = String::new();
        let mut cause = err.source();
        while let Some(c) = cause {
            if !chain.is_empty() {
                chain.push('\n');
            }
            chain.push_str("caused by: ");
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        let stack = (!chain.is_empty()).then_some(chain.as_str());
        self.record_exception(core::any::type_name::<E>(), &message, stack);
    }

    /// Change the span's name.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// rec.span("GET").update_name("GET /users/{id}");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn update_name(&self, name: &str) {
        if !self.live {
            return;
        }
        // SAFETY: raw is live; name is valid for the call.
        let rc = unsafe { sys::ptel_span_update_name(self.raw, name.as_ptr().cast(), name.len()) };
        self.rec.note(rc);
    }

    /// End the span now (the same as dropping it).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// rec.span("s").end();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[inline]
    pub fn end(self) {
        drop(self)
    }

    /// End the span at `end_unix_nano` (0 = now).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span("s");
    /// s.end_at(rec.now());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn end_at(mut self, end_unix_nano: u64) {
        if self.live {
            self.end_raw(end_unix_nano);
        }
    }

    /// The span's context for propagation (for a non-recording span: the
    /// context's span with the sampled flag clear).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// let s = rec.span("s");
    /// let downstream_traceparent = s.context().traceparent();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn context(&self) -> SpanContext {
        let mut c = sys::ptel_span_context::default();
        // SAFETY: raw is NULL (zeroes) or a span of the live recorder.
        unsafe { sys::ptel_span_get_context(self.raw, &mut c) };
        SpanContext::from_c(&c)
    }

    /// True when the span records.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// # let rec = ptel::Recorder::new(&ctx);
    /// assert!(rec.span("s").is_recording());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn is_recording(&self) -> bool {
        // SAFETY: raw is NULL or a span of the live recorder.
        self.live && unsafe { sys::ptel_span_is_recording(self.raw) }
    }

    pub(crate) fn raw(&self) -> *mut sys::ptel_span {
        self.raw
    }
}
