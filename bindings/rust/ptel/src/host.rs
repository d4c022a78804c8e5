//! The host side: [`Invocation`] (the trusted invocation span, validation of
//! the plugin's untrusted payload, OTLP export requests) and [`Aggregator`]
//! (cumulative metric streams over many invocations).

use core::fmt;
use core::ptr::NonNull;

use ptel_sys as sys;

use crate::attr::{KeyValue, Lowered, c_str};
use crate::callbacks::{Clock, Hooks, IdGenerator, rust_allocator};
use crate::context::{ContextRef, Decision, Limits, SpanContext};
use crate::error::{Error, ErrorKind, Result, check, check_diag, static_str};
use crate::json::{self, MessageType};

/// How an invocation ended.
///
/// ```
/// assert_eq!(ptel::Outcome::default(), ptel::Outcome::Ok);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Outcome {
    /// The plugin succeeded.
    #[default]
    Ok,
    /// The plugin reported an error.
    Error,
    /// The host gave up waiting.
    Timeout,
    /// The plugin crashed or its process died.
    Crash,
}

impl Outcome {
    fn to_c(self) -> u32 {
        match self {
            Outcome::Ok => sys::PTEL_OUTCOME_OK,
            Outcome::Error => sys::PTEL_OUTCOME_ERROR,
            Outcome::Timeout => sys::PTEL_OUTCOME_TIMEOUT,
            Outcome::Crash => sys::PTEL_OUTCOME_CRASH,
        }
    }
}

/// What to do with plugin times outside the invocation window.
///
/// ```
/// assert_eq!(ptel::TimePolicy::default(), ptel::TimePolicy::Clamp);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimePolicy {
    /// Move them to the window's edge and keep the data.
    #[default]
    Clamp,
    /// Drop the span, event, data point or exemplar.
    Reject,
}

/// Export temporality of an [`Aggregator`].
///
/// ```
/// assert_ne!(ptel::Temporality::Cumulative, ptel::Temporality::Delta);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Temporality {
    /// Totals since each stream's start.
    #[default]
    Cumulative,
    /// Changes since the previous delta export (up-down counters stay
    /// cumulative, gauges are their last value).
    Delta,
}

/// Why host validation dropped or changed something (`PTEL_REASON_MAP`;
/// values are pinned forever).
///
/// ```
/// let r = ptel::Reason::from_name("utf8").unwrap();
/// assert_eq!(r.name(), "utf8");
/// assert_eq!(r.message(), "invalid UTF-8");
/// assert_eq!(ptel::Reason::all().count(), 33);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reason(pub u32);

impl Reason {
    /// Every reason, in value order.
    ///
    /// ```
    /// assert_eq!(ptel::Reason::all().next().unwrap().name(), "malformed");
    /// ```
    pub fn all() -> impl Iterator<Item = Reason> {
        // SAFETY: a pure function.
        (0..unsafe { sys::ptel_reason_count() }).map(Reason)
    }

    /// The reason with this snake_case name.
    ///
    /// ```
    /// assert_eq!(ptel::Reason::from_name("span_id_zero"), Some(ptel::Reason(ptel::sys::PTEL_REASON_SPAN_ID_ZERO)));
    /// assert_eq!(ptel::Reason::from_name("nope"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::all().find(|r| r.name() == name)
    }

    /// The stable snake_case name ("unknown" outside the table).
    ///
    /// ```
    /// assert_eq!(ptel::Reason(9999).name(), "unknown");
    /// ```
    pub fn name(self) -> &'static str {
        let v = core::ffi::c_int::try_from(self.0).unwrap_or(-1);
        // SAFETY: returns a static string.
        static_str(unsafe { sys::ptel_reason_name(v) })
    }

    /// The English message.
    ///
    /// ```
    /// assert_eq!(ptel::Reason::from_name("too_large").unwrap().message(), "payload larger than the limit");
    /// ```
    pub fn message(self) -> &'static str {
        let v = core::ffi::c_int::try_from(self.0).unwrap_or(-1);
        // SAFETY: returns a static string.
        static_str(unsafe { sys::ptel_reason_message(v) })
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reason({})", self.name())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Host validation policy (see `ptel_host_policy` in host.h).
///
/// ```
/// let p = ptel::HostPolicy { time_policy: ptel::TimePolicy::Reject, ..Default::default() };
/// assert_eq!(p.time_slack_ns, 1_000_000_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HostPolicy {
    /// Enforced and sent to the plugin (zero fields = defaults).
    pub limits: Limits,
    /// Window slack on each side (default 1 s).
    pub time_slack_ns: u64,
    /// Times outside the window: clamp (default) or reject.
    pub time_policy: TimePolicy,
    /// Attribute keys a plugin may not set (an entry ending in '.' reserves
    /// a prefix); `None` = the defaults (service.*, telemetry.sdk., plugin.*).
    pub reserved_keys: Option<Vec<String>>,
    /// Keep spans under a RECORD_ONLY decision (default false).
    pub accept_record_only: bool,
}

impl Default for HostPolicy {
    fn default() -> HostPolicy {
        let mut c = sys::ptel_host_policy::default();
        // SAFETY: c is writable.
        unsafe { sys::ptel_host_policy_init(&mut c) };
        HostPolicy {
            limits: Limits::from_c(&c.limits),
            time_slack_ns: c.time_slack_ns,
            time_policy: if c.time_policy == sys::PTEL_TIME_REJECT {
                TimePolicy::Reject
            } else {
                TimePolicy::Clamp
            },
            reserved_keys: None,
            accept_record_only: c.accept_record_only,
        }
    }
}

/// What validation of one payload did (see `ptel_report`).
///
/// ```
/// # let inv = ptel::Invocation::builder().begin()?;
/// # let mut inv = inv;
/// let report = inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
/// assert!(!report.rejected && report.spans_accepted == 0);
/// assert!(report.to_json().starts_with("{\"status\":\"ok\""));
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Clone)]
pub struct Report {
    /// True when the whole payload was dropped (only the host's span remains).
    pub rejected: bool,
    /// Spans that will be exported (open spans included).
    pub spans_accepted: u32,
    /// Spans dropped, one reason each.
    pub spans_dropped: u32,
    /// Accepted spans that were re-encoded.
    pub spans_modified: u32,
    /// Accepted spans the host ended.
    pub open_spans: u32,
    /// Metrics kept.
    pub metrics_accepted: u32,
    /// Metrics dropped.
    pub metrics_dropped: u32,
    /// Data points kept (after merging).
    pub points_accepted: u32,
    /// Data points dropped.
    pub points_dropped: u32,
    /// DropCounts the plugin reported: spans.
    pub plugin_dropped_spans: u32,
    /// DropCounts the plugin reported: metrics.
    pub plugin_dropped_metrics: u32,
    /// DropCounts the plugin reported: metric points.
    pub plugin_dropped_points: u32,
    /// DropCounts the plugin reported: errors.
    pub plugin_errors: u32,
    /// The first problem: its reason and where it was (offset into the
    /// payload, field number, message; the kind is the wire error for a
    /// rejection, [`ErrorKind::Rejected`] otherwise).
    pub first: Option<(Reason, Error)>,
    raw: sys::ptel_report,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl Report {
    fn from_c(r: &sys::ptel_report) -> Report {
        let first = u32::try_from(r.first_reason).ok().map(|reason| {
            let code = if r.first.status != 0 {
                r.first.status
            } else {
                sys::PTEL_E_REJECTED
            };
            let mut d = r.first;
            d.status = code;
            (Reason(reason), Error::from_diag(code, &d))
        });
        Report {
            rejected: r.status == sys::PTEL_E_REJECTED,
            spans_accepted: r.spans_accepted,
            spans_dropped: r.spans_dropped,
            spans_modified: r.spans_modified,
            open_spans: r.open_spans,
            metrics_accepted: r.metrics_accepted,
            metrics_dropped: r.metrics_dropped,
            points_accepted: r.points_accepted,
            points_dropped: r.points_dropped,
            plugin_dropped_spans: r.plugin_dropped_spans,
            plugin_dropped_metrics: r.plugin_dropped_metrics,
            plugin_dropped_points: r.plugin_dropped_points,
            plugin_errors: r.plugin_errors,
            first,
            raw: *r,
        }
    }

    /// How often `reason` occurred.
    ///
    /// ```
    /// # let mut inv = ptel::Invocation::builder().begin()?;
    /// let report = inv.end(vec![0xff], ptel::Outcome::Ok, "")?;
    /// assert!(report.rejected);
    /// assert_eq!(report.count(ptel::Reason::from_name("malformed").unwrap()), 1);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn count(&self, reason: Reason) -> u32 {
        usize::try_from(reason.0)
            .ok()
            .and_then(|i| self.raw.reasons.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The reasons that occurred, with their counts, in value order.
    ///
    /// ```
    /// # let mut inv = ptel::Invocation::builder().begin()?;
    /// let report = inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// assert_eq!(report.reasons().count(), 0);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn reasons(&self) -> impl Iterator<Item = (Reason, u32)> + '_ {
        self.raw
            .reasons
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, &n)| (Reason(i as u32), n))
    }

    /// The report as one line of JSON (only non-zero reasons listed).
    ///
    /// ```
    /// # let mut inv = ptel::Invocation::builder().begin()?;
    /// let json = inv.end(vec![0x08, 0x02], ptel::Outcome::Ok, "")?.to_json();
    /// assert!(json.contains("\"version\":1"));
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut len = 0usize;
        // SAFETY: raw is a valid report; the size query writes nothing.
        let rc = unsafe { sys::ptel_report_to_json(&self.raw, core::ptr::null_mut(), 0, &mut len) };
        if rc != 0 && rc != sys::PTEL_E_BUFFER_TOO_SMALL {
            return String::new();
        }
        let mut buf = vec![0u8; len + 1];
        // SAFETY: buf has len + 1 writable bytes.
        let rc = unsafe {
            sys::ptel_report_to_json(&self.raw, buf.as_mut_ptr().cast(), buf.len(), &mut len)
        };
        if rc != 0 {
            return String::new();
        }
        buf.truncate(len);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Options of [`Invocation::builder`]: the parent, the plugin, policy,
/// clock and ids. Strings and attributes are borrowed until `begin`.
///
/// ```
/// let inv = ptel::Invocation::builder()
///     .parent(ptel::SpanContext::new([1; 16], [2; 8], 1))
///     .plugin("pii_filter", "1.0.0")
///     .hook("tool_pre_invoke")
///     .attributes(&[ptel::KeyValue::new("plugin.mode", "enforce")])
///     .begin()?;
/// assert_eq!(inv.context().plugin_name(), "pii_filter");
/// # Ok::<(), ptel::Error>(())
/// ```
#[must_use = "an invocation builder does nothing until `begin` is called"]
pub struct InvocationBuilder<'a> {
    parent: SpanContext,
    tracestate: &'a str,
    baggage: &'a str,
    decision: Decision,
    plugin_name: &'a str,
    plugin_version: &'a str,
    hook: &'a str,
    pub(crate) span_name: &'a str,
    span_id: [u8; 8],
    pub(crate) start: u64,
    features: u64,
    remote: bool,
    attributes: &'a [KeyValue<'a>],
    policy: Option<&'a HostPolicy>,
    clock: Option<Box<dyn Clock>>,
    ids: Option<Box<dyn IdGenerator>>,
}

impl<'a> InvocationBuilder<'a> {
    /// The host's active span, parent of the invocation span (default: none,
    /// start a new trace).
    ///
    /// ```
    /// let p = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let inv = ptel::Invocation::builder().parent(p).begin()?;
    /// assert_eq!(inv.span_context().trace_id, [1; 16]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn parent(mut self, parent: SpanContext) -> Self {
        self.parent = parent;
        self
    }

    /// The parent's tracestate (invalid values are dropped, as W3C says).
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().tracestate("a=1").begin()?;
    /// assert_eq!(inv.context().tracestate(), "a=1");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn tracestate(mut self, tracestate: &'a str) -> Self {
        self.tracestate = tracestate;
        self
    }

    /// Baggage for the plugin, already filtered (invalid values are dropped).
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().baggage("tenant=acme").begin()?;
    /// assert_eq!(inv.context().baggage(), "tenant=acme");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn baggage(mut self, baggage: &'a str) -> Self {
        self.baggage = baggage;
        self
    }

    /// The recording decision (default record and sample).
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().decision(ptel::Decision::Drop).begin()?;
    /// assert_eq!(inv.context().decision(), ptel::Decision::Drop);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn decision(mut self, decision: Decision) -> Self {
        self.decision = decision;
        self
    }

    /// The plugin's name and version (its scope).
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().plugin("p", "1").begin()?;
    /// assert_eq!(inv.context().plugin_version(), "1");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn plugin(mut self, name: &'a str, version: &'a str) -> Self {
        self.plugin_name = name;
        self.plugin_version = version;
        self
    }

    /// The hook invoked.
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().hook("prompt_pre_fetch").begin()?;
    /// assert_eq!(inv.context().hook(), "prompt_pre_fetch");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn hook(mut self, hook: &'a str) -> Self {
        self.hook = hook;
        self
    }

    /// The invocation span's name (default "plugin.execute").
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().span_name("tool.invoke").begin()?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn span_name(mut self, name: &'a str) -> Self {
        self.span_name = name;
        self
    }

    /// The invocation span's id (default: generated), for SDK adapters that
    /// open a real SDK span for the invocation.
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().span_id([5; 8]).begin()?;
    /// assert_eq!(inv.span_context().span_id, [5; 8]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn span_id(mut self, id: [u8; 8]) -> Self {
        self.span_id = id;
        self
    }

    /// The invocation's start time, Unix ns (default: the clock's now).
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().start_time(1_000_000_000_000).begin()?;
    /// assert_eq!(inv.context().time_base_unix_nano(), 1_000_000_000_000);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn start_time(mut self, unix_nano: u64) -> Self {
        self.start = unix_nano;
        self
    }

    /// Feature bits the host accepts (`ptel_sys::PTEL_FEATURE_*`; 0 = all of v1).
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().features(1).begin()?;
    /// assert_eq!(inv.context().features(), 1);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn features(mut self, features: u64) -> Self {
        self.features = features;
        self
    }

    /// Tell the plugin its parent is remote (an out-of-process plugin).
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().remote(true).begin()?;
    /// assert!(inv.context().span_context().is_remote);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn remote(mut self, remote: bool) -> Self {
        self.remote = remote;
        self
    }

    /// Extra attributes of the invocation span (e.g. `plugin.mode`).
    ///
    /// ```
    /// let err = ptel::Invocation::builder().attributes(&[ptel::KeyValue::new("", 1)]).begin().unwrap_err();
    /// assert_eq!(err.kind(), ptel::ErrorKind::InvalidArgument);
    /// ```
    pub fn attributes(mut self, attributes: &'a [KeyValue<'a>]) -> Self {
        self.attributes = attributes;
        self
    }

    /// The validation policy (default [`HostPolicy::default`]).
    ///
    /// ```
    /// let policy = ptel::HostPolicy { accept_record_only: true, ..Default::default() };
    /// let inv = ptel::Invocation::builder().policy(&policy).begin()?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn policy(mut self, policy: &'a HostPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The clock for the invocation span (default: system clocks).
    ///
    /// ```
    /// struct At(u64);
    /// impl ptel::Clock for At {
    ///     fn monotonic_ns(&self) -> u64 { 0 }
    ///     fn realtime_ns(&self) -> u64 { self.0 }
    /// }
    /// let inv = ptel::Invocation::builder().clock(At(42)).begin()?;
    /// assert_eq!(inv.context().time_base_unix_nano(), 42);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// The id generator for the trace and invocation span ids.
    ///
    /// ```
    /// struct Nines;
    /// impl ptel::IdGenerator for Nines { fn fill(&self, out: &mut [u8]) { out.fill(9) } }
    /// let inv = ptel::Invocation::builder().id_generator(Nines).begin()?;
    /// assert_eq!(inv.span_context().span_id, [9; 8]);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn id_generator(mut self, ids: impl IdGenerator) -> Self {
        self.ids = Some(Box::new(ids));
        self
    }

    /// Open the invocation span and build the plugin's context. Fails with
    /// [`ErrorKind::InvalidArgument`] (empty attribute key),
    /// [`ErrorKind::Utf8`], [`ErrorKind::Depth`] or [`ErrorKind::NoMem`].
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().begin()?;
    /// assert!(inv.span_context().is_valid());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn begin(self) -> Result<Invocation> {
        let hooks = Hooks::new(self.clock, self.ids);
        let attrs = Lowered::new(self.attributes);
        let default_policy;
        let policy = match self.policy {
            Some(p) => p,
            None => {
                default_policy = HostPolicy::default();
                &default_policy
            }
        };
        let reserved: Vec<sys::ptel_str> = policy
            .reserved_keys
            .iter()
            .flatten()
            .map(|k| c_str(k))
            .collect();
        let mut pc = sys::ptel_host_policy::default();
        // SAFETY: pc is writable.
        unsafe { sys::ptel_host_policy_init(&mut pc) };
        pc.limits = policy.limits.to_c();
        pc.time_slack_ns = policy.time_slack_ns;
        pc.time_policy = match policy.time_policy {
            TimePolicy::Clamp => sys::PTEL_TIME_CLAMP,
            TimePolicy::Reject => sys::PTEL_TIME_REJECT,
        };
        if policy.reserved_keys.is_some() {
            pc.reserved_keys = if reserved.is_empty() {
                [].as_ptr()
            } else {
                reserved.as_ptr()
            };
            pc.reserved_key_count = reserved.len();
        }
        pc.accept_record_only = policy.accept_record_only;
        pc.copy_payload = false; // the Invocation keeps the payload Vec itself

        let mut o = sys::ptel_invocation_options::default();
        // SAFETY: o is writable.
        unsafe { sys::ptel_invocation_options_init(&mut o) };
        o.parent = self.parent.to_c();
        o.tracestate = c_str(self.tracestate);
        o.baggage = c_str(self.baggage);
        o.decision = self.decision.to_c();
        o.plugin_name = c_str(self.plugin_name);
        o.plugin_version = c_str(self.plugin_version);
        o.hook = c_str(self.hook);
        o.span_name = c_str(self.span_name);
        o.span_id = self.span_id;
        o.start_unix_nano = self.start;
        o.features = self.features;
        o.context_is_remote = self.remote;
        o.attributes = attrs.ptr();
        o.attribute_count = attrs.len();
        o.policy = &pc;
        if let Some(h) = &hooks {
            o.clock = h.c_clock();
            o.ids = h.c_ids();
        }
        o.allocator = rust_allocator();
        let mut out = core::ptr::null_mut();
        let mut diag = sys::ptel_diag::default();
        // SAFETY: every pointer in o is valid for the call; the hooks stay
        // boxed in the Invocation for as long as the C object may call them.
        let rc = unsafe { sys::ptel_invocation_begin(&mut out, &o, &mut diag) };
        check_diag(rc, &diag)?;
        let raw = NonNull::new(out).ok_or_else(|| Error::new(ErrorKind::NoMem))?;
        Ok(Invocation {
            raw,
            _hooks: hooks,
            payload: None,
        })
    }
}

/// One plugin invocation as the host sees it: the invocation span, the
/// context handed to the plugin and, after [`Invocation::end`], the
/// validated telemetry ready to export.
///
/// `Send + Sync`: `end` needs `&mut self`; every `&self` method is a read
/// that the core allows from any number of threads.
///
/// ```
/// use ptel::{Invocation, Outcome, Recorder};
/// let mut inv = Invocation::builder().plugin("pii_filter", "1.0.0").begin()?;
/// // Hand the plugin its context (here: in-process, through the bytes).
/// let ctx = ptel::Context::decode(&inv.context().encode())?;
/// let mut rec = Recorder::new(&ctx);
/// rec.span("pii.scan");
/// let report = inv.end(rec.finish(), Outcome::Ok, "")?;
/// assert_eq!(report.spans_accepted, 1);
/// let otlp: Vec<u8> = inv.export_traces(&ptel::ExportOptions::default())?;
/// # assert!(!otlp.is_empty());
/// # Ok::<(), ptel::Error>(())
/// ```
pub struct Invocation {
    pub(crate) raw: NonNull<sys::ptel_invocation>,
    _hooks: Option<Box<Hooks>>,
    /// The payload accepted spans point into (kept until drop).
    payload: Option<Vec<u8>>,
}

// SAFETY: host.h: begin and end on one thread at a time (end takes &mut
// self), then the read-only calls may run concurrently from any thread; the
// hooks are Send + Sync.
unsafe impl Send for Invocation {}
// SAFETY: as above: every &self method is one of those read-only calls.
unsafe impl Sync for Invocation {}

impl Drop for Invocation {
    fn drop(&mut self) {
        // SAFETY: raw is the invocation this struct owns; freed once.
        unsafe { sys::ptel_invocation_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("span", &self.span_context())
            .field("ended", &self.payload.is_some())
            .finish_non_exhaustive()
    }
}

impl Invocation {
    /// Describe an invocation; [`InvocationBuilder::begin`] opens it.
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().begin()?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn builder<'a>() -> InvocationBuilder<'a> {
        InvocationBuilder {
            parent: SpanContext::default(),
            tracestate: "",
            baggage: "",
            decision: Decision::RecordAndSample,
            plugin_name: "",
            plugin_version: "",
            hook: "",
            span_name: "",
            span_id: [0; 8],
            start: 0,
            features: 0,
            remote: false,
            attributes: &[],
            policy: None,
            clock: None,
            ids: None,
        }
    }

    /// The PluginContext to hand to the plugin (its parent is the
    /// invocation span): encode it, put it in a child's environment, or
    /// take an owned copy.
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().begin()?;
    /// assert_eq!(inv.context().span_context().span_id, inv.span_context().span_id);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn context(&self) -> &ContextRef {
        // SAFETY: the context lives as long as the invocation, borrowed by &self.
        unsafe { ContextRef::from_ptr(sys::ptel_invocation_context(self.raw.as_ptr())) }
    }

    /// The invocation span's own context, for the host's propagation.
    ///
    /// ```
    /// let inv = ptel::Invocation::builder().begin()?;
    /// assert!(inv.span_context().is_sampled());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn span_context(&self) -> SpanContext {
        let mut c = sys::ptel_span_context::default();
        // SAFETY: raw is live; c is writable.
        unsafe { sys::ptel_invocation_span_context(self.raw.as_ptr(), &mut c) };
        SpanContext::from_c(&c)
    }

    /// End the invocation: close the invocation span with its outcome
    /// (`error_type` becomes `error.type` when the outcome is not OK; empty =
    /// the outcome's name) and validate the plugin's `payload` (kept by the
    /// invocation: pass a `Vec` to avoid a copy). Never fails on any payload:
    /// what was dropped and why is in the [`Report`] (`rejected` when all
    /// of it was). Errors: [`ErrorKind::State`] when already ended,
    /// [`ErrorKind::InvalidArgument`] for invalid UTF-8 in `error_type`,
    /// [`ErrorKind::NoMem`].
    ///
    /// ```
    /// let mut inv = ptel::Invocation::builder().begin()?;
    /// let report = inv.end(Vec::new(), ptel::Outcome::Timeout, "")?;
    /// assert!(!report.rejected);
    /// assert_eq!(inv.end(Vec::new(), ptel::Outcome::Ok, "").unwrap_err().kind(), ptel::ErrorKind::State);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn end(
        &mut self,
        payload: impl Into<Vec<u8>>,
        outcome: Outcome,
        error_type: &str,
    ) -> Result<Report> {
        if self.payload.is_some() {
            return Err(Error::new(ErrorKind::State));
        }
        let payload: Vec<u8> = payload.into();
        let mut report = sys::ptel_report::default();
        let mut diag = sys::ptel_diag::default();
        // SAFETY: raw is live and exclusively borrowed; the payload's heap
        // buffer is stored in self below and never touched again, so the
        // spans that point into it stay valid until drop.
        let rc = unsafe {
            sys::ptel_invocation_end(
                self.raw.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                outcome.to_c(),
                error_type.as_ptr().cast(),
                error_type.len(),
                &mut report,
                &mut diag,
            )
        };
        self.payload = Some(payload);
        if rc != 0 && rc != sys::PTEL_E_REJECTED {
            return Err(Error::from_diag(rc, &diag));
        }
        Ok(Report::from_c(&report))
    }

    fn export(
        &self,
        opts: &ExportOptions<'_>,
        f: unsafe extern "C" fn(
            *const sys::ptel_invocation,
            *const sys::ptel_export_options,
            *mut u8,
            usize,
            *mut usize,
        ) -> core::ffi::c_int,
    ) -> Result<Vec<u8>> {
        opts.with_c(|o| {
            // SAFETY: raw is live; o and the buffer are valid for each call.
            crate::size_query(|buf, cap, len| unsafe { f(self.raw.as_ptr(), o, buf, cap, len) })
        })
    }

    /// An ExportTraceServiceRequest (= OTLP TracesData): the Resource, the
    /// invocation span under the host scope and the accepted plugin spans
    /// (their bytes verbatim) under the plugin's scope. Empty when no span
    /// remains. [`ErrorKind::State`] before [`Invocation::end`].
    ///
    /// ```
    /// let mut inv = ptel::Invocation::builder().begin()?;
    /// assert_eq!(inv.export_traces(&Default::default()).unwrap_err().kind(), ptel::ErrorKind::State);
    /// inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// let resource = [ptel::KeyValue::new("service.name", "gateway")];
    /// let req = inv.export_traces(&ptel::ExportOptions { resource: &resource, ..Default::default() })?;
    /// assert_eq!(req[0], 0x0a); // resource_spans
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn export_traces(&self, opts: &ExportOptions<'_>) -> Result<Vec<u8>> {
        self.export(opts, sys::ptel_invocation_export_traces)
    }

    /// An ExportMetricsServiceRequest (= OTLP MetricsData) with the accepted
    /// per-invocation DELTA metrics. Empty when there are none.
    ///
    /// ```
    /// let mut inv = ptel::Invocation::builder().begin()?;
    /// inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// assert!(inv.export_metrics(&Default::default())?.is_empty());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn export_metrics(&self, opts: &ExportOptions<'_>) -> Result<Vec<u8>> {
        self.export(opts, sys::ptel_invocation_export_metrics)
    }

    /// Only the `ResourceSpans.scope_spans` fields of
    /// [`Invocation::export_traces`], for hosts that batch invocations
    /// (see [`ExportOptions::wrap_traces`]).
    ///
    /// ```
    /// let mut inv = ptel::Invocation::builder().begin()?;
    /// inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// let opts = ptel::ExportOptions::default();
    /// let batch = [inv.export_scope_spans(&opts)?, inv.export_scope_spans(&opts)?].concat();
    /// let req = opts.wrap_traces(&batch)?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn export_scope_spans(&self, opts: &ExportOptions<'_>) -> Result<Vec<u8>> {
        self.export(opts, sys::ptel_invocation_export_scope_spans)
    }

    /// Only the `ResourceMetrics.scope_metrics` fields of
    /// [`Invocation::export_metrics`].
    ///
    /// ```
    /// let mut inv = ptel::Invocation::builder().begin()?;
    /// inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// assert!(inv.export_scope_metrics(&Default::default())?.is_empty());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn export_scope_metrics(&self, opts: &ExportOptions<'_>) -> Result<Vec<u8>> {
        self.export(opts, sys::ptel_invocation_export_scope_metrics)
    }

    /// [`Invocation::export_traces`] as canonical OTLP/JSON.
    ///
    /// ```
    /// let mut inv = ptel::Invocation::builder().begin()?;
    /// inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// assert!(inv.export_traces_json(&Default::default())?.starts_with("{\"resourceSpans\""));
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn export_traces_json(&self, opts: &ExportOptions<'_>) -> Result<String> {
        json::render(MessageType::TracesData, &self.export_traces(opts)?)
    }

    /// [`Invocation::export_metrics`] as canonical OTLP/JSON (`{}` when empty).
    ///
    /// ```
    /// let mut inv = ptel::Invocation::builder().begin()?;
    /// inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// assert_eq!(inv.export_metrics_json(&Default::default())?, "{}");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn export_metrics_json(&self, opts: &ExportOptions<'_>) -> Result<String> {
        json::render(MessageType::MetricsData, &self.export_metrics(opts)?)
    }
}

/// Options of the export calls: the host's Resource and scope.
///
/// ```
/// let resource = [ptel::KeyValue::new("service.name", "gateway")];
/// let opts = ptel::ExportOptions { resource: &resource, host_scope_name: "my-host", ..Default::default() };
/// assert!(opts.include_invocation_span);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions<'a> {
    /// The host's Resource attributes (service.name, ...).
    pub resource: &'a [KeyValue<'a>],
    /// ResourceSpans/ResourceMetrics schema URL (may be empty).
    pub schema_url: &'a str,
    /// Scope of the invocation span (empty = "ptel").
    pub host_scope_name: &'a str,
    /// Its version (empty = the core's version).
    pub host_scope_version: &'a str,
    /// Export the invocation span (default true; false when an SDK adapter
    /// exports it as its own span).
    pub include_invocation_span: bool,
}

impl Default for ExportOptions<'_> {
    fn default() -> Self {
        ExportOptions {
            resource: &[],
            schema_url: "",
            host_scope_name: "",
            host_scope_version: "",
            include_invocation_span: true,
        }
    }
}

impl ExportOptions<'_> {
    fn with_c<R>(&self, f: impl FnOnce(&sys::ptel_export_options) -> R) -> R {
        let attrs = Lowered::new(self.resource);
        let mut o = sys::ptel_export_options::default();
        // SAFETY: o is writable.
        unsafe { sys::ptel_export_options_init(&mut o) };
        o.resource_attributes = attrs.ptr();
        o.resource_attribute_count = attrs.len();
        o.resource_schema_url = c_str(self.schema_url);
        o.host_scope_name = c_str(self.host_scope_name);
        o.host_scope_version = c_str(self.host_scope_version);
        o.include_invocation_span = self.include_invocation_span;
        f(&o)
    }

    /// Wrap concatenated ScopeSpans fields (from
    /// [`Invocation::export_scope_spans`]) into an ExportTraceServiceRequest
    /// with this Resource. Empty for empty input.
    ///
    /// ```
    /// assert!(ptel::ExportOptions::default().wrap_traces(&[])?.is_empty());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn wrap_traces(&self, scope_spans: &[u8]) -> Result<Vec<u8>> {
        self.with_c(|o| {
            // SAFETY: o and the input are valid for each call.
            crate::size_query(|buf, cap, len| unsafe {
                sys::ptel_export_traces_wrap(
                    o,
                    scope_spans.as_ptr(),
                    scope_spans.len(),
                    buf,
                    cap,
                    len,
                )
            })
        })
    }

    /// As [`ExportOptions::wrap_traces`], for ScopeMetrics into an
    /// ExportMetricsServiceRequest.
    ///
    /// ```
    /// assert!(ptel::ExportOptions::default().wrap_metrics(&[])?.is_empty());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn wrap_metrics(&self, scope_metrics: &[u8]) -> Result<Vec<u8>> {
        self.with_c(|o| {
            // SAFETY: as in wrap_traces.
            crate::size_query(|buf, cap, len| unsafe {
                sys::ptel_export_metrics_wrap(
                    o,
                    scope_metrics.as_ptr(),
                    scope_metrics.len(),
                    buf,
                    cap,
                    len,
                )
            })
        })
    }
}

// ---- aggregation ----------------------------------------------------------------

/// Options of an [`Aggregator`].
///
/// ```
/// let agg = ptel::Aggregator::new(ptel::AggregatorOptions::default().cardinality_limit(100))?;
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Default)]
#[must_use]
pub struct AggregatorOptions {
    cardinality_limit: u32,
    metric_limit: u32,
    clock: Option<Box<dyn Clock>>,
}

impl fmt::Debug for AggregatorOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AggregatorOptions")
            .field("cardinality_limit", &self.cardinality_limit)
            .field("metric_limit", &self.metric_limit)
            .finish_non_exhaustive()
    }
}

impl AggregatorOptions {
    /// Attribute sets per metric, the overflow set included (0 = 2000).
    ///
    /// ```
    /// let o = ptel::AggregatorOptions::default().cardinality_limit(10);
    /// ```
    pub fn cardinality_limit(mut self, n: u32) -> Self {
        self.cardinality_limit = n;
        self
    }

    /// Metrics in total; more are dropped (0 = 4096).
    ///
    /// ```
    /// let o = ptel::AggregatorOptions::default().metric_limit(10);
    /// ```
    pub fn metric_limit(mut self, n: u32) -> Self {
        self.metric_limit = n;
        self
    }

    /// The clock for start and export times (default: system clocks).
    ///
    /// ```
    /// struct Zero;
    /// impl ptel::Clock for Zero {
    ///     fn monotonic_ns(&self) -> u64 { 0 }
    ///     fn realtime_ns(&self) -> u64 { 0 }
    /// }
    /// let o = ptel::AggregatorOptions::default().clock(Zero);
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }
}

/// Aggregator counters.
///
/// ```
/// let agg = ptel::Aggregator::new(Default::default())?;
/// assert_eq!(agg.stats(), ptel::AggregatorStats::default());
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AggregatorStats {
    /// Invocations added.
    pub invocations: u64,
    /// Data points folded into streams.
    pub points_added: u64,
    /// Of those, folded into an overflow stream.
    pub points_overflowed: u64,
    /// Data points dropped as conflicts.
    pub points_conflicting: u64,
    /// Metrics dropped by the metric limit.
    pub metrics_dropped: u64,
    /// Metrics registered.
    pub metrics: u32,
    /// Streams registered.
    pub streams: u32,
}

/// Cumulative metric streams folded from many invocations' validated
/// deltas. `Send + Sync`: it locks internally, so any number of threads may
/// add and export at once.
///
/// ```
/// let agg = ptel::Aggregator::new(Default::default())?;
/// let mut inv = ptel::Invocation::builder().plugin("p", "1").begin()?;
/// let ctx = inv.context().to_context()?;
/// let mut rec = ptel::Recorder::new(&ctx);
/// rec.i64_counter("hits").build().add(3, &[]);
/// inv.end(rec.finish(), ptel::Outcome::Ok, "")?;
/// agg.add(&inv)?;
/// agg.add(&inv)?;
/// let req = agg.export(&Default::default(), ptel::Temporality::Cumulative)?;
/// assert_eq!(agg.stats().invocations, 2);
/// # Ok::<(), ptel::Error>(())
/// ```
pub struct Aggregator {
    raw: NonNull<sys::ptel_aggregator>,
    _hooks: Option<Box<Hooks>>,
}

// SAFETY: host.h: every call but free takes the aggregator's mutex; free
// runs once from Drop with exclusive access. The clock is Send + Sync.
unsafe impl Send for Aggregator {}
// SAFETY: as above.
unsafe impl Sync for Aggregator {}

impl Drop for Aggregator {
    fn drop(&mut self) {
        // SAFETY: raw is owned and no other call can be running (&mut self).
        unsafe { sys::ptel_aggregator_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aggregator")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Aggregator {
    /// Create an aggregator. Fails only with [`ErrorKind::NoMem`].
    ///
    /// ```
    /// let agg = ptel::Aggregator::new(ptel::AggregatorOptions::default())?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn new(opts: AggregatorOptions) -> Result<Aggregator> {
        let hooks = Hooks::new(opts.clock, None);
        let mut o = sys::ptel_aggregator_options::default();
        // SAFETY: o is writable.
        unsafe { sys::ptel_aggregator_options_init(&mut o) };
        if opts.cardinality_limit != 0 {
            o.cardinality_limit = opts.cardinality_limit;
        }
        if opts.metric_limit != 0 {
            o.metric_limit = opts.metric_limit;
        }
        if let Some(h) = &hooks {
            o.clock = h.c_clock();
        }
        o.allocator = rust_allocator();
        let mut out = core::ptr::null_mut();
        // SAFETY: o is valid; the hooks outlive the aggregator.
        check(unsafe { sys::ptel_aggregator_new(&mut out, &o) })?;
        let raw = NonNull::new(out).ok_or_else(|| Error::new(ErrorKind::NoMem))?;
        Ok(Aggregator { raw, _hooks: hooks })
    }

    /// Fold the accepted metrics of an ended invocation into the streams.
    /// [`ErrorKind::State`] before [`Invocation::end`].
    ///
    /// ```
    /// let agg = ptel::Aggregator::new(Default::default())?;
    /// let inv = ptel::Invocation::builder().begin()?;
    /// assert_eq!(agg.add(&inv).unwrap_err().kind(), ptel::ErrorKind::State);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn add(&self, inv: &Invocation) -> Result<()> {
        // SAFETY: both objects are live; the aggregator locks internally.
        check(unsafe { sys::ptel_aggregator_add(self.raw.as_ptr(), inv.raw.as_ptr()) })
    }

    /// An ExportMetricsServiceRequest with every stream (one ScopeMetrics per
    /// plugin scope), cumulative or as deltas since the previous delta
    /// export. Empty when no stream exists.
    ///
    /// ```
    /// let agg = ptel::Aggregator::new(Default::default())?;
    /// assert!(agg.export(&Default::default(), ptel::Temporality::Delta)?.is_empty());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn export(&self, opts: &ExportOptions<'_>, temporality: Temporality) -> Result<Vec<u8>> {
        let t = match temporality {
            Temporality::Cumulative => sys::PTEL_TEMPORALITY_CUMULATIVE,
            Temporality::Delta => sys::PTEL_TEMPORALITY_DELTA,
        };
        opts.with_c(|o| {
            // SAFETY: raw is live (locks internally); o and buf valid per call.
            crate::size_query(|buf, cap, len| unsafe {
                sys::ptel_aggregator_export(self.raw.as_ptr(), o, t, buf, cap, len)
            })
        })
    }

    /// The counters.
    ///
    /// ```
    /// let agg = ptel::Aggregator::new(Default::default())?;
    /// assert_eq!(agg.stats().streams, 0);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn stats(&self) -> AggregatorStats {
        let mut s = sys::ptel_aggregator_stats::default();
        // SAFETY: raw is live; s is writable.
        unsafe { sys::ptel_aggregator_get_stats(self.raw.as_ptr(), &mut s) };
        AggregatorStats {
            invocations: s.invocations,
            points_added: s.points_added,
            points_overflowed: s.points_overflowed,
            points_conflicting: s.points_conflicting,
            metrics_dropped: s.metrics_dropped,
            metrics: s.metrics,
            streams: s.streams,
        }
    }
}
