//! The context a host hands a plugin: [`Context`] (owned) and [`ContextRef`]
//! (borrowed), plus the plain values [`SpanContext`], [`Decision`] and
//! [`Limits`].

use core::fmt;
use core::ptr::NonNull;
use std::sync::Arc;

use ptel_sys as sys;

use crate::attr::c_str;
use crate::callbacks::{EnvLookup, rust_allocator};
use crate::error::{Error, ErrorKind, Result, check_diag};

/// Identity of a span as it propagates: trace id, span id, all 8 W3C trace
/// flag bits and whether it came from another process.
///
/// ```
/// let sc = ptel::SpanContext::new([1; 16], [2; 8], 0x01);
/// assert!(sc.is_valid() && sc.is_sampled());
/// assert_eq!(sc.to_string(), "00-01010101010101010101010101010101-0202020202020202-01");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SpanContext {
    /// 16 bytes; all zero is invalid.
    pub trace_id: [u8; 16],
    /// 8 bytes; all zero is invalid.
    pub span_id: [u8; 8],
    /// All 8 W3C bits (`0x01` sampled, `0x02` random).
    pub trace_flags: u8,
    /// True when the span was created in another process.
    pub is_remote: bool,
}

impl SpanContext {
    /// A local span context.
    ///
    /// ```
    /// let sc = ptel::SpanContext::new([1; 16], [2; 8], 0);
    /// assert!(!sc.is_remote);
    /// ```
    pub const fn new(trace_id: [u8; 16], span_id: [u8; 8], trace_flags: u8) -> SpanContext {
        SpanContext {
            trace_id,
            span_id,
            trace_flags,
            is_remote: false,
        }
    }

    /// True when both ids are non-zero.
    ///
    /// ```
    /// assert!(!ptel::SpanContext::default().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        let c = self.to_c();
        // SAFETY: c is a valid ptel_span_context for the call.
        unsafe { sys::ptel_span_context_is_valid(&c) }
    }

    /// True when the sampled flag (0x01) is set.
    ///
    /// ```
    /// assert!(ptel::SpanContext::new([1; 16], [2; 8], 3).is_sampled());
    /// ```
    pub fn is_sampled(&self) -> bool {
        self.trace_flags & sys::PTEL_TRACE_FLAG_SAMPLED as u8 != 0
    }

    /// The `traceparent` header value (version 00; only the sampled and
    /// random flags are written, as W3C requires).
    ///
    /// ```
    /// let sc = ptel::SpanContext::new([0xab; 16], [0xcd; 8], 0xff);
    /// assert!(sc.traceparent().ends_with("-03"));
    /// ```
    pub fn traceparent(&self) -> String {
        crate::w3c::Traceparent {
            version: 0,
            trace_id: self.trace_id,
            parent_id: self.span_id,
            trace_flags: self.trace_flags,
        }
        .format()
    }

    /// The trace id as 32 lowercase hex digits.
    ///
    /// ```
    /// assert_eq!(ptel::SpanContext::new([0xab; 16], [1; 8], 0).trace_id_hex(), "ab".repeat(16));
    /// ```
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id as 16 lowercase hex digits.
    ///
    /// ```
    /// assert_eq!(ptel::SpanContext::new([1; 16], [0xcd; 8], 0).span_id_hex(), "cd".repeat(8));
    /// ```
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    pub(crate) fn to_c(self) -> sys::ptel_span_context {
        sys::ptel_span_context {
            trace_id: self.trace_id,
            span_id: self.span_id,
            trace_flags: self.trace_flags,
            is_remote: self.is_remote,
        }
    }

    pub(crate) fn from_c(c: &sys::ptel_span_context) -> SpanContext {
        SpanContext {
            trace_id: c.trace_id,
            span_id: c.span_id,
            trace_flags: c.trace_flags,
            is_remote: c.is_remote,
        }
    }
}

impl fmt::Display for SpanContext {
    /// The `traceparent` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.traceparent())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The host's recording decision for a plugin (OpenTelemetry sampler results).
///
/// ```
/// assert_eq!(ptel::Decision::default(), ptel::Decision::RecordAndSample);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Decision {
    /// Record nothing; spans are non-recording (metrics still count).
    Drop,
    /// Record, but the sampled flag stays clear.
    RecordOnly,
    /// Record and export.
    #[default]
    RecordAndSample,
}

impl Decision {
    pub(crate) fn to_c(self) -> u32 {
        match self {
            Decision::Drop => sys::PTEL_DECISION_DROP,
            Decision::RecordOnly => sys::PTEL_DECISION_RECORD_ONLY,
            Decision::RecordAndSample => sys::PTEL_DECISION_RECORD_AND_SAMPLE,
        }
    }

    pub(crate) fn from_c(v: u32) -> Decision {
        match v {
            sys::PTEL_DECISION_DROP => Decision::Drop,
            sys::PTEL_DECISION_RECORD_ONLY => Decision::RecordOnly,
            _ => Decision::RecordAndSample,
        }
    }
}

/// The limits a host enforces and the recorder honours. A zero field means
/// "the default"; [`Limits::default`] writes the defaults explicitly.
///
/// ```
/// let l = ptel::Limits::default();
/// assert_eq!((l.attribute_count, l.span_count, l.payload_bytes), (128, 1024, 4 << 20));
/// let mut custom = ptel::Limits { attribute_count: 8, ..ptel::Limits::zero() };
/// custom.resolve();
/// assert_eq!((custom.attribute_count, custom.event_count), (8, 128));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Attributes per span (128).
    pub attribute_count: u32,
    /// Characters of a string / bytes of a byte array, recursively (4096).
    pub attribute_value_length: u32,
    /// Array/map nesting (8).
    pub attribute_depth: u32,
    /// Events per span (128).
    pub event_count: u32,
    /// Links per span (128).
    pub link_count: u32,
    /// Attributes per event (128).
    pub attributes_per_event: u32,
    /// Attributes per link (128).
    pub attributes_per_link: u32,
    /// Spans per invocation (1024).
    pub span_count: u32,
    /// Distinct instruments per invocation (256).
    pub metric_count: u32,
    /// Attribute sets per instrument (2000).
    pub metric_cardinality: u32,
    /// Largest PluginTelemetry accepted (4 MiB).
    pub payload_bytes: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        let mut c = sys::ptel_limits::default();
        // SAFETY: c is a valid, writable ptel_limits.
        unsafe { sys::ptel_limits_init(&mut c) };
        Limits::from_c(&c)
    }
}

impl Limits {
    /// All fields zero ("every default"), as a context carries them when the
    /// host set none.
    ///
    /// ```
    /// assert_eq!(ptel::Limits::zero().span_count, 0);
    /// ```
    pub const fn zero() -> Limits {
        Limits {
            attribute_count: 0,
            attribute_value_length: 0,
            attribute_depth: 0,
            event_count: 0,
            link_count: 0,
            attributes_per_event: 0,
            attributes_per_link: 0,
            span_count: 0,
            metric_count: 0,
            metric_cardinality: 0,
            payload_bytes: 0,
        }
    }

    /// Replace every zero field by its default.
    ///
    /// ```
    /// let mut l = ptel::Limits::zero();
    /// l.resolve();
    /// assert_eq!(l, ptel::Limits::default());
    /// ```
    pub fn resolve(&mut self) {
        let mut c = self.to_c();
        // SAFETY: c is a valid, writable ptel_limits.
        unsafe { sys::ptel_limits_resolve(&mut c) };
        *self = Limits::from_c(&c);
    }

    pub(crate) fn to_c(self) -> sys::ptel_limits {
        sys::ptel_limits {
            attribute_count: self.attribute_count,
            attribute_value_length: self.attribute_value_length,
            attribute_depth: self.attribute_depth,
            event_count: self.event_count,
            link_count: self.link_count,
            attributes_per_event: self.attributes_per_event,
            attributes_per_link: self.attributes_per_link,
            span_count: self.span_count,
            metric_count: self.metric_count,
            metric_cardinality: self.metric_cardinality,
            payload_bytes: self.payload_bytes,
        }
    }

    pub(crate) fn from_c(c: &sys::ptel_limits) -> Limits {
        Limits {
            attribute_count: c.attribute_count,
            attribute_value_length: c.attribute_value_length,
            attribute_depth: c.attribute_depth,
            event_count: c.event_count,
            link_count: c.link_count,
            attributes_per_event: c.attributes_per_event,
            attributes_per_link: c.attributes_per_link,
            span_count: c.span_count,
            metric_count: c.metric_count,
            metric_cardinality: c.metric_cardinality,
            payload_bytes: c.payload_bytes,
        }
    }
}

// ---- Context ------------------------------------------------------------------

/// Owner of one C `ptel_context`.
struct Owned(NonNull<sys::ptel_context>);

// SAFETY: a ptel_context is immutable once built (context.h: "may be shared
// read-only between threads"); freeing happens once, from Drop.
unsafe impl Send for Owned {}
// SAFETY: as above: every operation on it is a read.
unsafe impl Sync for Owned {}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the pointer came from ptel_context_* and is freed once.
        unsafe { sys::ptel_context_free(self.0.as_ptr()) }
    }
}

/// A validated, immutable PluginContext: the host's span (the plugin's
/// parent), trace state, baggage, recording decision, limits, time base,
/// plugin identity and accepted features.
///
/// Cheap to clone (reference counted), `Send` and `Sync`. It dereferences to
/// [`ContextRef`], which holds the accessors.
///
/// ```
/// let ctx = ptel::Context::from_w3c(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=x", "")?;
/// assert_eq!(ctx.decision(), ptel::Decision::RecordAndSample);
/// assert_eq!(ctx.tracestate(), "vendor=x");
/// let again = ptel::Context::decode(&ctx.encode())?;
/// assert_eq!(again.span_context(), ctx.span_context());
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Clone)]
pub struct Context(Arc<Owned>);

/// A borrowed PluginContext (see [`Context`]): what
/// [`Invocation::context`](crate::Invocation::context) and
/// [`Recorder::context`](crate::Recorder::context) return.
///
/// ```
/// let ctx = ptel::Context::from_w3c(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", "")?;
/// let r: &ptel::ContextRef = &ctx;
/// assert_eq!(r.decision(), ptel::Decision::Drop);
/// # Ok::<(), ptel::Error>(())
/// ```
#[repr(C)]
pub struct ContextRef {
    _opaque: [u8; 0],
}

impl core::ops::Deref for Context {
    type Target = ContextRef;
    fn deref(&self) -> &ContextRef {
        // SAFETY: the context lives as long as the Arc; ContextRef is a
        // zero-sized stand-in for the C object at that address.
        unsafe { ContextRef::from_ptr((self.0).0.as_ptr()) }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl fmt::Debug for ContextRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("parent", &self.span_context())
            .field("decision", &self.decision())
            .field("tracestate", &self.tracestate())
            .field("plugin_name", &self.plugin_name())
            .finish_non_exhaustive()
    }
}

/// The result of a C constructor of `ptel_context`.
fn made(
    rc: core::ffi::c_int,
    out: *mut sys::ptel_context,
    diag: &sys::ptel_diag,
) -> Result<Context> {
    check_diag(rc, diag)?;
    match NonNull::new(out) {
        Some(p) => Ok(Context(Arc::new(Owned(p)))),
        None => Err(Error::new(ErrorKind::NoMem)),
    }
}

impl Context {
    /// Build a context from W3C header values (`tracestate` and `baggage`
    /// may be empty; several headers of one kind must be joined with ','
    /// first). The decision follows the sampled flag; an invalid tracestate
    /// or baggage is dropped, as W3C requires; an invalid traceparent fails
    /// with [`ErrorKind::Traceparent`].
    ///
    /// ```
    /// let ctx = ptel::Context::from_w3c(
    ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "user=42")?;
    /// assert!(ctx.span_context().is_remote);
    /// assert_eq!(ctx.baggage(), "user=42");
    /// assert!(ptel::Context::from_w3c("garbage", "", "").is_err());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn from_w3c(traceparent: &str, tracestate: &str, baggage: &str) -> Result<Context> {
        let mut out = core::ptr::null_mut();
        let mut diag = sys::ptel_diag::default();
        let alloc = rust_allocator();
        // SAFETY: the strings are valid for the call; out and diag are writable.
        let rc = unsafe {
            sys::ptel_context_from_w3c(
                &mut out,
                traceparent.as_ptr().cast(),
                traceparent.len(),
                tracestate.as_ptr().cast(),
                tracestate.len(),
                baggage.as_ptr().cast(),
                baggage.len(),
                &alloc,
                &mut diag,
            )
        };
        made(rc, out, &diag)
    }

    /// Decode PluginContext bytes (at most 64 KiB). Unknown fields are
    /// skipped; broken or invalid input fails with the field and byte
    /// offset in the error.
    ///
    /// ```
    /// let ctx = ptel::Context::from_w3c(
    ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let bytes = ctx.encode();
    /// assert_eq!(ptel::Context::decode(&bytes)?.encode(), bytes);
    /// assert_eq!(ptel::Context::decode(&bytes[..5]).unwrap_err().kind(), ptel::ErrorKind::Truncated);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Context> {
        let mut out = core::ptr::null_mut();
        let mut diag = sys::ptel_diag::default();
        let alloc = rust_allocator();
        // SAFETY: bytes is valid for the call; out and diag are writable.
        let rc = unsafe {
            sys::ptel_context_decode(&mut out, bytes.as_ptr(), bytes.len(), &alloc, &mut diag)
        };
        made(rc, out, &diag)
    }

    /// Build a context from the process environment: `PTEL_CONTEXT` (base64
    /// PluginContext bytes) when set, else `TRACEPARENT`, `TRACESTATE` and
    /// `BAGGAGE`. [`ErrorKind::NotFound`] when neither is set.
    ///
    /// ```
    /// match ptel::Context::from_env() {
    ///     Ok(ctx) => println!("parent {}", ctx.span_context()),
    ///     Err(e) if e.kind() == ptel::ErrorKind::NotFound => println!("no context"),
    ///     Err(e) => println!("bad context: {e}"),
    /// }
    /// ```
    pub fn from_env() -> Result<Context> {
        Context::from_env_with(|name| {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// Like [`Context::from_env`], reading variables through `lookup`
    /// (`None` = unset), e.g. from a child process's prepared environment.
    ///
    /// ```
    /// let env = [("TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")];
    /// let ctx = ptel::Context::from_env_with(|name| {
    ///     env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    /// })?;
    /// assert!(ctx.span_context().is_sampled());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn from_env_with<F>(lookup: F) -> Result<Context>
    where
        F: FnMut(&str) -> Option<String>,
    {
        let mut env = EnvLookup::new(lookup);
        let (getenv, ud) = env.c_fn();
        let mut out = core::ptr::null_mut();
        let mut diag = sys::ptel_diag::default();
        let alloc = rust_allocator();
        // SAFETY: the callback and env live for the call; out and diag are writable.
        let rc = unsafe { sys::ptel_context_from_env(&mut out, getenv, ud, &alloc, &mut diag) };
        made(rc, out, &diag)
    }

    /// Start building a context field by field (hosts and tests).
    ///
    /// ```
    /// let ctx = ptel::Context::builder(ptel::SpanContext::new([1; 16], [2; 8], 1))
    ///     .decision(ptel::Decision::RecordOnly)
    ///     .plugin("pii_filter", "1.0.0")
    ///     .build()?;
    /// assert_eq!(ctx.plugin_version(), "1.0.0");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn builder<'a>(parent: SpanContext) -> ContextBuilder<'a> {
        ContextBuilder {
            parent,
            tracestate: "",
            baggage: "",
            decision: Decision::RecordAndSample,
            limits: Limits::zero(),
            time_base_unix_nano: 0,
            plugin_name: "",
            plugin_version: "",
            hook: "",
            features: 0,
            protocol_version: sys::PTEL_PROTOCOL_VERSION,
        }
    }

    /// Build a context from a `opentelemetry` span context: its ids, flags,
    /// remote bit and trace state; the decision follows the sampled flag.
    /// Behind the `opentelemetry` cargo feature.
    ///
    /// ```
    /// # #[cfg(feature = "opentelemetry")] {
    /// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    /// let sc = SpanContext::new(TraceId::from(7u128), SpanId::from(9u64), TraceFlags::SAMPLED,
    ///                           true, TraceState::default());
    /// let ctx = ptel::Context::from_otel(&sc)?;
    /// assert_eq!(ctx.decision(), ptel::Decision::RecordAndSample);
    /// # }
    /// # Ok::<(), ptel::Error>(())
    /// ```
    #[cfg(feature = "opentelemetry")]
    pub fn from_otel(sc: &opentelemetry::trace::SpanContext) -> Result<Context> {
        crate::otel::context_from_otel(sc)
    }
}

/// Fields of a [`Context`] to build (see [`Context::builder`]). Strings are
/// validated and normalised by [`ContextBuilder::build`].
///
/// ```
/// let ctx = ptel::Context::builder(ptel::SpanContext::new([1; 16], [2; 8], 1))
///     .tracestate("b=2, a=1")
///     .build()?;
/// assert_eq!(ctx.tracestate(), "b=2,a=1");
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ContextBuilder<'a> {
    parent: SpanContext,
    tracestate: &'a str,
    baggage: &'a str,
    decision: Decision,
    limits: Limits,
    time_base_unix_nano: u64,
    plugin_name: &'a str,
    plugin_version: &'a str,
    hook: &'a str,
    features: u64,
    protocol_version: u32,
}

impl<'a> ContextBuilder<'a> {
    /// W3C tracestate of the parent (validated and normalised).
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let err = ptel::Context::builder(p).tracestate("UPPER=1").build().unwrap_err();
    /// assert_eq!(err.kind(), ptel::ErrorKind::Tracestate);
    /// ```
    pub fn tracestate(mut self, tracestate: &'a str) -> Self {
        self.tracestate = tracestate;
        self
    }

    /// W3C baggage, already filtered by the host.
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let ctx = ptel::Context::builder(p).baggage("a=1").build()?;
    /// assert_eq!(ctx.baggage(), "a=1");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn baggage(mut self, baggage: &'a str) -> Self {
        self.baggage = baggage;
        self
    }

    /// The recording decision (default: record and sample).
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let ctx = ptel::Context::builder(p).decision(ptel::Decision::Drop).build()?;
    /// assert_eq!(ctx.decision(), ptel::Decision::Drop);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn decision(mut self, decision: Decision) -> Self {
        self.decision = decision;
        self
    }

    /// The limits the host enforces (zero fields = defaults).
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let lim = ptel::Limits { span_count: 4, ..ptel::Limits::zero() };
    /// let ctx = ptel::Context::builder(p).limits(lim).build()?;
    /// assert_eq!(ctx.limits().span_count, 4);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Host wall time at invocation start, Unix nanoseconds (0 = unknown).
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let ctx = ptel::Context::builder(p).time_base(1_000_000_000_000).build()?;
    /// assert_eq!(ctx.time_base_unix_nano(), 1_000_000_000_000);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn time_base(mut self, unix_nano: u64) -> Self {
        self.time_base_unix_nano = unix_nano;
        self
    }

    /// The plugin's name and version (its instrumentation scope).
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let ctx = ptel::Context::builder(p).plugin("pii", "2").build()?;
    /// assert_eq!(ctx.plugin_name(), "pii");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn plugin(mut self, name: &'a str, version: &'a str) -> Self {
        self.plugin_name = name;
        self.plugin_version = version;
        self
    }

    /// The hook being invoked.
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let ctx = ptel::Context::builder(p).hook("tool_pre_invoke").build()?;
    /// assert_eq!(ctx.hook(), "tool_pre_invoke");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn hook(mut self, hook: &'a str) -> Self {
        self.hook = hook;
        self
    }

    /// Feature bits the host accepts (`ptel_sys::PTEL_FEATURE_*`; 0 = all of v1).
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let ctx = ptel::Context::builder(p).features(1).build()?;
    /// assert_eq!(ctx.features(), 1);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn features(mut self, features: u64) -> Self {
        self.features = features;
        self
    }

    /// The protocol version to claim (default 1; anything else fails to build).
    ///
    /// ```
    /// # let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let err = ptel::Context::builder(p).protocol_version(2).build().unwrap_err();
    /// assert_eq!(err.kind(), ptel::ErrorKind::Version);
    /// ```
    pub fn protocol_version(mut self, version: u32) -> Self {
        self.protocol_version = version;
        self
    }

    /// Validate and build. Fails with [`ErrorKind::InvalidId`] for a zero
    /// trace or span id, [`ErrorKind::Utf8`], [`ErrorKind::Tracestate`],
    /// [`ErrorKind::Baggage`], [`ErrorKind::Version`] or
    /// [`ErrorKind::Limit`] (encoding over 64 KiB).
    ///
    /// ```
    /// let err = ptel::Context::builder(ptel::SpanContext::default()).build().unwrap_err();
    /// assert_eq!(err.kind(), ptel::ErrorKind::InvalidId);
    /// ```
    pub fn build(self) -> Result<Context> {
        let mut f = sys::ptel_context_fields::default();
        // SAFETY: f is writable.
        unsafe { sys::ptel_context_fields_init(&mut f) };
        f.protocol_version = self.protocol_version;
        f.parent = self.parent.to_c();
        f.tracestate = c_str(self.tracestate);
        f.baggage = c_str(self.baggage);
        f.decision = self.decision.to_c();
        f.limits = self.limits.to_c();
        f.time_base_unix_nano = self.time_base_unix_nano;
        f.plugin_name = c_str(self.plugin_name);
        f.plugin_version = c_str(self.plugin_version);
        f.hook = c_str(self.hook);
        f.features = self.features;
        let mut out = core::ptr::null_mut();
        let mut diag = sys::ptel_diag::default();
        let alloc = rust_allocator();
        // SAFETY: f's strings borrow from self for the call; out, diag writable.
        let rc = unsafe { sys::ptel_context_new(&mut out, &f, &alloc, &mut diag) };
        made(rc, out, &diag)
    }
}

impl ContextRef {
    /// # Safety
    /// `p` must point to a live ptel_context that outlives `'a`.
    pub(crate) unsafe fn from_ptr<'a>(p: *const sys::ptel_context) -> &'a ContextRef {
        // SAFETY: per the contract; ContextRef is zero-sized, so the reference
        // only carries the address.
        unsafe { &*(p as *const ContextRef) }
    }

    pub(crate) fn as_ptr(&self) -> *const sys::ptel_context {
        self as *const ContextRef as *const sys::ptel_context
    }

    fn fields(&self) -> sys::ptel_context_fields {
        let mut f = sys::ptel_context_fields::default();
        // SAFETY: self is a live context; f is writable.
        unsafe { sys::ptel_context_get(self.as_ptr(), &mut f) };
        f
    }

    fn field_str(&self, s: sys::ptel_str) -> &str {
        if s.ptr.is_null() || s.len == 0 {
            return "";
        }
        // SAFETY: context strings borrow from the context (alive as long as
        // &self) and were validated as UTF-8 when it was built.
        let bytes = unsafe { core::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// An owned copy (encoded and decoded again, as across a real boundary).
    ///
    /// ```
    /// let ctx = ptel::Context::from_w3c(
    ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let r: &ptel::ContextRef = &ctx;
    /// assert_eq!(r.to_context()?.encode(), ctx.encode());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn to_context(&self) -> Result<Context> {
        Context::decode(&self.encode())
    }

    /// The protocol version (1).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.protocol_version(), 1);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn protocol_version(&self) -> u32 {
        self.fields().protocol_version
    }

    /// The parent span: the host's invocation span.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.span_context().span_id_hex(), "00f067aa0ba902b7");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn span_context(&self) -> SpanContext {
        SpanContext::from_c(&self.fields().parent)
    }

    /// The normalised W3C tracestate (may be empty).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=1", "")?;
    /// assert_eq!(ctx.tracestate(), "a=1");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn tracestate(&self) -> &str {
        self.field_str(self.fields().tracestate)
    }

    /// The normalised W3C baggage (read-only; may be empty).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "k=v")?;
    /// assert_eq!(ctx.baggage(), "k=v");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn baggage(&self) -> &str {
        self.field_str(self.fields().baggage)
    }

    /// The host's recording decision.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.decision(), ptel::Decision::RecordAndSample);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn decision(&self) -> Decision {
        Decision::from_c(self.fields().decision)
    }

    /// The limits as carried (zero fields = defaults; see [`Limits::resolve`]).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.limits(), ptel::Limits::zero());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn limits(&self) -> Limits {
        Limits::from_c(&self.fields().limits)
    }

    /// Host wall time at invocation start (Unix ns; 0 = unknown).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.time_base_unix_nano(), 0);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn time_base_unix_nano(&self) -> u64 {
        self.fields().time_base_unix_nano
    }

    /// The plugin's name (may be empty).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.plugin_name(), "");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn plugin_name(&self) -> &str {
        self.field_str(self.fields().plugin_name)
    }

    /// The plugin's version (may be empty).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.plugin_version(), "");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn plugin_version(&self) -> &str {
        self.field_str(self.fields().plugin_version)
    }

    /// The hook being invoked (may be empty).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.hook(), "");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn hook(&self) -> &str {
        self.field_str(self.fields().hook)
    }

    /// Feature bits the host accepts (0 = all of v1).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.features(), 0);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn features(&self) -> u64 {
        self.fields().features
    }

    /// PluginContext bytes (canonical encoding, at most 64 KiB).
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// assert_eq!(ctx.encode()[..2], [0x08, 0x01]); // protocol_version = 1
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        // SAFETY: self is a live context; the closure passes a valid buffer.
        crate::size_query(|buf, cap, len| unsafe {
            sys::ptel_context_encode(self.as_ptr(), buf, cap, len)
        })
        .unwrap_or_default()
    }

    /// The environment carrier for a child process: `TRACEPARENT`,
    /// `TRACESTATE` and `BAGGAGE` when non-empty, then `PTEL_CONTEXT`, as
    /// (name, value) pairs ready for `Command::envs`.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let env = ctx.to_env();
    /// assert_eq!(env[0].0, "TRACEPARENT");
    /// assert_eq!(env.last().unwrap().0, "PTEL_CONTEXT");
    /// let back = ptel::Context::from_env_with(|n| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))?;
    /// assert_eq!(back.encode(), ctx.encode());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn to_env(&self) -> Vec<(String, String)> {
        // SAFETY: self is a live context; the closure passes a valid buffer.
        let raw = crate::size_query(|buf, cap, len| unsafe {
            sys::ptel_context_to_env(self.as_ptr(), buf.cast(), cap, len)
        })
        .unwrap_or_default();
        raw.split(|&b| b == 0)
            .filter(|e| !e.is_empty())
            .filter_map(|e| {
                let e = core::str::from_utf8(e).ok()?;
                let (k, v) = e.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    }

    /// The `traceparent` of the context's span (55 characters).
    ///
    /// ```
    /// let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    /// assert_eq!(ptel::Context::from_w3c(tp, "", "")?.traceparent(), tp);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn traceparent(&self) -> String {
        let mut buf = [0u8; 64];
        let mut len = 0usize;
        // SAFETY: self is live; buf has 64 bytes (>= 56 needed).
        let rc = unsafe {
            sys::ptel_context_traceparent(
                self.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut len,
            )
        };
        if rc != 0 {
            return String::new();
        }
        String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned()
    }
}
