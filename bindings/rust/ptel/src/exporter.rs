//! The core's built-in exporters ([`Exporter`]): OTLP/HTTP (protobuf,
//! optional gzip; batching, a bounded queue and retries on a background
//! thread), OTLP/JSON lines, console and in-memory, configured from
//! [`ExporterOptions`] or the standard `OTEL_*` environment variables.
//! Everything that decides a byte or a retry is the C core's
//! (`core/include/ptel/export.h`); this module only wraps it.

use core::fmt;
use core::ptr::NonNull;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ptel_sys as sys;

use crate::attr::{KeyValue, Lowered, c_str};
use crate::callbacks::{Clock, EnvLookup, Hooks, rust_allocator};
use crate::error::{Error, ErrorKind, Result, check, check_diag, static_str};
use crate::host::Invocation;

/// Where an exporter sends what it is given.
///
/// ```
/// assert_eq!(ptel::ExporterOptions::default().kind, ptel::ExporterKind::JsonLines);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExporterKind {
    /// Discard everything (what `OTEL_SDK_DISABLED=true` selects).
    None,
    /// OTLP/HTTP protobuf to a collector, from a background thread.
    OtlpHttp,
    /// OTLP/JSON lines (the collector file exporter's format) to a file or fd.
    JsonLines,
    /// Trace tree and metrics table to an fd.
    Console,
    /// Keep the requests in memory ([`Exporter::memory_requests`]), for tests.
    Memory,
}

impl ExporterKind {
    fn to_c(self) -> u32 {
        match self {
            ExporterKind::None => sys::PTEL_EXPORTER_NONE,
            ExporterKind::OtlpHttp => sys::PTEL_EXPORTER_OTLP_HTTP,
            ExporterKind::JsonLines => sys::PTEL_EXPORTER_JSONL,
            ExporterKind::Console => sys::PTEL_EXPORTER_CONSOLE,
            ExporterKind::Memory => sys::PTEL_EXPORTER_MEMORY,
        }
    }

    fn from_c(k: u32) -> ExporterKind {
        match k {
            sys::PTEL_EXPORTER_NONE => ExporterKind::None,
            sys::PTEL_EXPORTER_OTLP_HTTP => ExporterKind::OtlpHttp,
            sys::PTEL_EXPORTER_CONSOLE => ExporterKind::Console,
            sys::PTEL_EXPORTER_MEMORY => ExporterKind::Memory,
            _ => ExporterKind::JsonLines,
        }
    }
}

/// OTLP/HTTP body compression.
///
/// ```
/// assert_eq!(ptel::ExporterOptions::default().compression, ptel::Compression::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Plain protobuf.
    #[default]
    None,
    /// `Content-Encoding: gzip` (zlib loaded at run time).
    Gzip,
}

/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`. Plugins record only
/// synchronous instruments, so `Delta` and `LowMemory` export the same.
///
/// ```
/// assert_eq!(ptel::ExporterOptions::default().temporality, ptel::TemporalityPreference::Cumulative);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TemporalityPreference {
    /// Every stream as its total.
    #[default]
    Cumulative,
    /// Counters and histograms as deltas, up-down counters cumulative.
    Delta,
    /// As `Delta` for plugin instruments.
    LowMemory,
}

impl TemporalityPreference {
    fn to_c(self) -> u32 {
        match self {
            TemporalityPreference::Cumulative => sys::PTEL_TEMPORALITY_PREFERENCE_CUMULATIVE,
            TemporalityPreference::Delta => sys::PTEL_TEMPORALITY_PREFERENCE_DELTA,
            TemporalityPreference::LowMemory => sys::PTEL_TEMPORALITY_PREFERENCE_LOWMEMORY,
        }
    }

    fn from_c(t: u32) -> TemporalityPreference {
        match t {
            sys::PTEL_TEMPORALITY_PREFERENCE_DELTA => TemporalityPreference::Delta,
            sys::PTEL_TEMPORALITY_PREFERENCE_LOWMEMORY => TemporalityPreference::LowMemory,
            _ => TemporalityPreference::Cumulative,
        }
    }
}

/// Options of [`Exporter::new`]; see `ptel_exporter_options` in export.h
/// for each field. [`ExporterOptions::default`] holds the core's defaults,
/// [`ExporterOptions::apply_env`] applies the `OTEL_*` variables.
///
/// ```
/// let mut opts = ptel::ExporterOptions::default();
/// opts.kind = ptel::ExporterKind::Memory;
/// opts.service_name = "gateway".into();
/// let exporter = ptel::Exporter::new(&opts)?;
/// # Ok::<(), ptel::Error>(())
/// ```
pub struct ExporterOptions<'a> {
    /// Where to send (default [`ExporterKind::JsonLines`]).
    pub kind: ExporterKind,
    /// OTLP/HTTP base URL; `v1/traces` and `v1/metrics` are appended.
    pub endpoint: String,
    /// Full traces URL, used as is (overrides `endpoint`).
    pub traces_endpoint: String,
    /// Full metrics URL, used as is.
    pub metrics_endpoint: String,
    /// Extra headers, `key=value,key2=value2` (percent-decoded).
    pub headers: String,
    /// As `headers`, traces only.
    pub traces_headers: String,
    /// As `headers`, metrics only.
    pub metrics_headers: String,
    /// Per request (default 10 s; whole milliseconds).
    pub timeout: Duration,
    /// Body compression.
    pub compression: Compression,
    /// `service.name` (empty = `unknown_service`).
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES` form `k=v,k2=v2`.
    pub resource_attributes: String,
    /// More resource attributes; win over both strings above.
    pub resource: &'a [KeyValue<'a>],
    /// Metric temporality preference.
    pub temporality: TemporalityPreference,
    /// OTLP/HTTP metric cycle (default 60 s).
    pub metric_interval: Duration,
    /// Export the ptel.host.* / ptel.exporter.* metrics (default true).
    pub self_telemetry: bool,
    /// Export invocation spans (default true; false when an SDK adapter
    /// exports them as its own spans).
    pub include_invocation_span: bool,
    /// Queue bound in bytes (default 8 MiB).
    pub max_queue_bytes: u32,
    /// Queue bound in requests (default 2048).
    pub max_queue_requests: u32,
    /// Largest POST body, unless one request alone is larger (default 1 MiB).
    pub max_batch_bytes: u32,
    /// Longest wait before a queued request is sent (default 1 s).
    pub schedule_delay: Duration,
    /// First backoff bound (default 1 s).
    pub retry_initial: Duration,
    /// Largest backoff bound (default 30 s).
    pub retry_max: Duration,
    /// Give a batch up this long after its first attempt (default 60 s;
    /// zero = no retries).
    pub retry_max_elapsed: Duration,
    /// JSON lines / console: append to this file (`None` = write to `fd`).
    pub path: Option<PathBuf>,
    /// Used when `path` is `None` (default 1, stdout); never closed.
    pub fd: i32,
    /// Console flags (`ptel_sys::PTEL_CONSOLE_*` bits).
    pub console_flags: u32,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for ExporterOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterOptions")
            .field("kind", &self.kind)
            .field("endpoint", &self.endpoint)
            .field("traces_endpoint", &self.traces_endpoint)
            .field("metrics_endpoint", &self.metrics_endpoint)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("temporality", &self.temporality)
            .field("path", &self.path)
            .field("fd", &self.fd)
            .finish_non_exhaustive()
    }
}

impl Default for ExporterOptions<'_> {
    fn default() -> Self {
        let mut o = sys::ptel_exporter_options::default();
        // SAFETY: o is writable.
        unsafe { sys::ptel_exporter_options_init(&mut o) };
        let mut opts = ExporterOptions {
            kind: ExporterKind::JsonLines,
            endpoint: String::new(),
            traces_endpoint: String::new(),
            metrics_endpoint: String::new(),
            headers: String::new(),
            traces_headers: String::new(),
            metrics_headers: String::new(),
            timeout: Duration::ZERO,
            compression: Compression::None,
            service_name: String::new(),
            resource_attributes: String::new(),
            resource: &[],
            temporality: TemporalityPreference::Cumulative,
            metric_interval: Duration::ZERO,
            self_telemetry: true,
            include_invocation_span: true,
            max_queue_bytes: 0,
            max_queue_requests: 0,
            max_batch_bytes: 0,
            schedule_delay: Duration::ZERO,
            retry_initial: Duration::ZERO,
            retry_max: Duration::ZERO,
            retry_max_elapsed: Duration::ZERO,
            path: None,
            fd: 1,
            console_flags: 0,
            clock: None,
        };
        opts.lift(&o);
        opts
    }
}

/// A `ptel_str` the core filled (static defaults or borrowed environment
/// values) as an owned string; invalid UTF-8 is replaced.
fn lift_str(s: &sys::ptel_str) -> String {
    if s.ptr.is_null() || s.len == 0 {
        return String::new();
    }
    // SAFETY: the core hands out ptr/len pairs valid for the duration of the
    // call that filled them, which has not returned to a caller yet.
    let b = unsafe { core::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
    String::from_utf8_lossy(b).into_owned()
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl<'a> ExporterOptions<'a> {
    /// The clock for timestamps and schedules (default: system clocks).
    ///
    /// ```
    /// struct Fixed;
    /// impl ptel::Clock for Fixed {
    ///     fn monotonic_ns(&self) -> u64 { 0 }
    ///     fn realtime_ns(&self) -> u64 { 1_000 }
    /// }
    /// let opts = ptel::ExporterOptions::default().clock(Fixed);
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Copy every field the core's options struct holds into `self`.
    fn lift(&mut self, o: &sys::ptel_exporter_options) {
        self.kind = ExporterKind::from_c(o.kind);
        self.endpoint = lift_str(&o.endpoint);
        self.traces_endpoint = lift_str(&o.traces_endpoint);
        self.metrics_endpoint = lift_str(&o.metrics_endpoint);
        self.headers = lift_str(&o.headers);
        self.traces_headers = lift_str(&o.traces_headers);
        self.metrics_headers = lift_str(&o.metrics_headers);
        self.timeout = Duration::from_millis(o.timeout_ms.into());
        self.compression = if o.compression == sys::PTEL_COMPRESSION_GZIP {
            Compression::Gzip
        } else {
            Compression::None
        };
        self.service_name = lift_str(&o.service_name);
        self.resource_attributes = lift_str(&o.resource_attributes);
        self.temporality = TemporalityPreference::from_c(o.temporality);
        self.metric_interval = Duration::from_millis(o.metric_interval_ms.into());
        self.self_telemetry = o.self_telemetry;
        self.include_invocation_span = o.include_invocation_span;
        self.max_queue_bytes = o.max_queue_bytes;
        self.max_queue_requests = o.max_queue_requests;
        self.max_batch_bytes = o.max_batch_bytes;
        self.schedule_delay = Duration::from_millis(o.schedule_delay_ms.into());
        self.retry_initial = Duration::from_millis(o.retry_initial_ms.into());
        self.retry_max = Duration::from_millis(o.retry_max_ms.into());
        self.retry_max_elapsed = Duration::from_millis(o.retry_max_elapsed_ms.into());
        self.fd = o.fd;
        self.console_flags = o.console_flags;
    }

    /// The C options for one call: strings and attributes borrowed from
    /// `self` (and `path`, which must outlive `f`).
    fn with_c<R>(
        &self,
        hooks: Option<&Hooks>,
        f: impl FnOnce(&mut sys::ptel_exporter_options) -> R,
    ) -> Result<R> {
        let path = match &self.path {
            Some(p) => Some(
                CString::new(p.as_os_str().as_encoded_bytes())
                    .map_err(|_| Error::new(ErrorKind::InvalidArgument))?,
            ),
            None => None,
        };
        let attrs = Lowered::new(self.resource);
        let mut o = sys::ptel_exporter_options::default();
        // SAFETY: o is writable.
        unsafe { sys::ptel_exporter_options_init(&mut o) };
        o.kind = self.kind.to_c();
        o.endpoint = c_str(&self.endpoint);
        o.traces_endpoint = c_str(&self.traces_endpoint);
        o.metrics_endpoint = c_str(&self.metrics_endpoint);
        o.headers = c_str(&self.headers);
        o.traces_headers = c_str(&self.traces_headers);
        o.metrics_headers = c_str(&self.metrics_headers);
        o.timeout_ms = ms(self.timeout);
        o.compression = match self.compression {
            Compression::None => sys::PTEL_COMPRESSION_NONE,
            Compression::Gzip => sys::PTEL_COMPRESSION_GZIP,
        };
        o.service_name = c_str(&self.service_name);
        o.resource_attributes = c_str(&self.resource_attributes);
        o.resource = attrs.ptr();
        o.resource_count = attrs.len();
        o.temporality = self.temporality.to_c();
        o.metric_interval_ms = ms(self.metric_interval);
        o.self_telemetry = self.self_telemetry;
        o.include_invocation_span = self.include_invocation_span;
        o.max_queue_bytes = self.max_queue_bytes;
        o.max_queue_requests = self.max_queue_requests;
        o.max_batch_bytes = self.max_batch_bytes;
        o.schedule_delay_ms = ms(self.schedule_delay);
        o.retry_initial_ms = ms(self.retry_initial);
        o.retry_max_ms = ms(self.retry_max);
        o.retry_max_elapsed_ms = ms(self.retry_max_elapsed);
        o.path = path.as_ref().map_or(core::ptr::null(), |p| p.as_ptr());
        o.fd = self.fd;
        o.console_flags = self.console_flags;
        if let Some(h) = hooks {
            o.clock = h.c_clock();
        }
        o.allocator = rust_allocator();
        Ok(f(&mut o))
    }

    /// Apply the standard OpenTelemetry environment variables of the
    /// process (see [`ExporterOptions::apply_env_with`]).
    ///
    /// ```
    /// let mut opts = ptel::ExporterOptions::default();
    /// opts.apply_env()?; // OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn apply_env(&mut self) -> Result<()> {
        self.apply_env_with(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Apply the `OTEL_*` variables as `ptel_exporter_options_from_env`
    /// does, reading them through `lookup` (`None` = unset). Any endpoint
    /// selects [`ExporterKind::OtlpHttp`]; `OTEL_SDK_DISABLED=true`
    /// selects [`ExporterKind::None`]. A variable with a bad value is
    /// ignored while the others still apply; the error ([`ErrorKind::Value`])
    /// names the first such variable in its reason and its field (a
    /// `ptel_sys::PTEL_ENV_*` value).
    ///
    /// ```
    /// let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")];
    /// let mut opts = ptel::ExporterOptions::default();
    /// let err = opts.apply_env_with(|n| env.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())).unwrap_err();
    /// assert_eq!(err.field(), ptel::sys::PTEL_ENV_TIMEOUT);
    /// assert_eq!(opts.kind, ptel::ExporterKind::OtlpHttp);
    /// assert_eq!(opts.endpoint, "http://127.0.0.1:4318");
    /// ```
    pub fn apply_env_with<F>(&mut self, lookup: F) -> Result<()>
    where
        F: FnMut(&str) -> Option<String>,
    {
        let mut env = EnvLookup::new(lookup);
        let (getenv, ud) = env.c_fn();
        let mut diag = sys::ptel_diag::default();
        let mut after = sys::ptel_exporter_options::default();
        let rc = self.with_c(None, |o| {
            // SAFETY: o is valid; the callback and env live for the call.
            let rc = unsafe { sys::ptel_exporter_options_from_env(o, getenv, ud, &mut diag) };
            after = *o;
            rc
        })?;
        // The strings in `after` borrow self's strings or env.keep: copy
        // them out before either goes away.
        self.lift(&after);
        drop(env);
        check_diag(rc, &diag)
    }
}

/// Why an exporter dropped spans or data points (`ptel_export_drop`).
///
/// ```
/// assert_eq!(ptel::DropReason::QueueFull.name(), "queue_full");
/// assert_eq!(ptel::DropReason::ALL.len(), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// No room in the queue.
    QueueFull,
    /// A non-retryable HTTP status.
    Rejected,
    /// Retryable failures until the retry budget or a deadline ran out.
    RetriesExhausted,
    /// The receiver's partial_success rejected them.
    PartialSuccess,
    /// Still queued when shutdown ended.
    Shutdown,
    /// A local failure (file write, memory).
    Error,
}

impl DropReason {
    /// Every reason, in value order.
    pub const ALL: [DropReason; 6] = [
        DropReason::QueueFull,
        DropReason::Rejected,
        DropReason::RetriesExhausted,
        DropReason::PartialSuccess,
        DropReason::Shutdown,
        DropReason::Error,
    ];

    fn index(self) -> usize {
        (match self {
            DropReason::QueueFull => sys::PTEL_EXPORT_DROP_QUEUE_FULL,
            DropReason::Rejected => sys::PTEL_EXPORT_DROP_REJECTED,
            DropReason::RetriesExhausted => sys::PTEL_EXPORT_DROP_RETRIES,
            DropReason::PartialSuccess => sys::PTEL_EXPORT_DROP_PARTIAL,
            DropReason::Shutdown => sys::PTEL_EXPORT_DROP_SHUTDOWN,
            DropReason::Error => sys::PTEL_EXPORT_DROP_ERROR,
        }) as usize
    }

    /// The stable name (`"retries_exhausted"`).
    ///
    /// ```
    /// assert_eq!(ptel::DropReason::RetriesExhausted.name(), "retries_exhausted");
    /// ```
    pub fn name(self) -> &'static str {
        // SAFETY: returns a static string.
        static_str(unsafe { sys::ptel_export_drop_name(self.index() as core::ffi::c_int) })
    }
}

/// A signal an exporter carries.
///
/// ```
/// assert_ne!(ptel::Signal::Traces, ptel::Signal::Metrics);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// ExportTraceServiceRequest.
    Traces,
    /// ExportMetricsServiceRequest.
    Metrics,
}

impl Signal {
    fn to_c(self) -> u32 {
        match self {
            Signal::Traces => sys::PTEL_EXPORT_SIGNAL_TRACES,
            Signal::Metrics => sys::PTEL_EXPORT_SIGNAL_METRICS,
        }
    }
}

/// Counters of one signal; items are spans or data points.
///
/// ```
/// let s = ptel::SignalStats::default();
/// assert_eq!(s.dropped_total(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SignalStats {
    /// Requests given to the exporter (not empty).
    pub requests_submitted: u64,
    /// Items in them.
    pub items_submitted: u64,
    /// Items accepted by the receiver, written or kept.
    pub items_sent: u64,
    /// Items dropped, per [`DropReason`] (indexed in `DropReason::ALL` order).
    pub items_dropped: [u64; 6],
    /// Batches that succeeded.
    pub exports_ok: u64,
    /// Batches dropped.
    pub exports_failed: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Items queued or in flight now.
    pub queued_items: u64,
    /// Bytes queued now.
    pub queued_bytes: u64,
}

impl SignalStats {
    fn from_c(s: &sys::ptel_exporter_signal_stats) -> SignalStats {
        let mut items_dropped = [0; 6];
        for r in DropReason::ALL {
            items_dropped[r.index()] = s.items_dropped.get(r.index()).copied().unwrap_or(0);
        }
        SignalStats {
            requests_submitted: s.requests_submitted,
            items_submitted: s.items_submitted,
            items_sent: s.items_sent,
            items_dropped,
            exports_ok: s.exports_ok,
            exports_failed: s.exports_failed,
            retries: s.retries,
            queued_items: s.queued_items,
            queued_bytes: s.queued_bytes,
        }
    }

    /// Items dropped for `reason`.
    ///
    /// ```
    /// assert_eq!(ptel::SignalStats::default().dropped(ptel::DropReason::Shutdown), 0);
    /// ```
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.items_dropped[reason.index()]
    }

    /// Items dropped for any reason.
    ///
    /// ```
    /// assert_eq!(ptel::SignalStats::default().dropped_total(), 0);
    /// ```
    pub fn dropped_total(&self) -> u64 {
        self.items_dropped.iter().sum()
    }
}

/// Exporter counters (a consistent snapshot).
///
/// ```
/// let mut opts = ptel::ExporterOptions::default();
/// opts.kind = ptel::ExporterKind::Memory;
/// let exporter = ptel::Exporter::new(&opts)?;
/// assert_eq!(exporter.stats().invocations, 0);
/// # Ok::<(), ptel::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct ExporterStats {
    /// Trace counters.
    pub traces: SignalStats,
    /// Metric counters (data points).
    pub metrics: SignalStats,
    /// Invocations submitted.
    pub invocations: u64,
    /// Requests queued now (both signals).
    pub queue_requests: u64,
    /// Bytes queued now.
    pub queue_bytes: u64,
    /// Status of the last HTTP response, 0 when none.
    pub last_http_status: u64,
    raw: sys::ptel_exporter_stats,
}

impl fmt::Debug for ExporterStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl PartialEq for ExporterStats {
    fn eq(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
}

impl ExporterStats {
    /// The counters as one line of JSON, as `ptel send --stats` prints them.
    ///
    /// ```
    /// let mut opts = ptel::ExporterOptions::default();
    /// opts.kind = ptel::ExporterKind::Memory;
    /// let json = ptel::Exporter::new(&opts)?.stats().to_json();
    /// assert!(json.starts_with("{\"invocations\":0"));
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut len = 0usize;
        // SAFETY: raw is a valid stats value; the size query writes nothing.
        let rc = unsafe {
            sys::ptel_exporter_stats_to_json(&self.raw, core::ptr::null_mut(), 0, &mut len)
        };
        if rc != 0 && rc != sys::PTEL_E_BUFFER_TOO_SMALL {
            return String::new();
        }
        let mut buf = vec![0u8; len + 1];
        // SAFETY: buf has len + 1 writable bytes.
        let rc = unsafe {
            sys::ptel_exporter_stats_to_json(
                &self.raw,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut len,
            )
        };
        if rc != 0 {
            return String::new();
        }
        buf.truncate(len);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// A built-in exporter of the C core. `Send + Sync`: every method may be
/// called from any number of threads at once (the core locks). Dropping it
/// shuts it down with a zero deadline (whatever is unsent is dropped and
/// counted): call [`Exporter::shutdown`] first to drain it.
///
/// ```
/// let mut opts = ptel::ExporterOptions::default();
/// opts.kind = ptel::ExporterKind::Memory;
/// let exporter = ptel::Exporter::new(&opts)?;
/// let mut inv = ptel::Invocation::builder().plugin("p", "1").begin()?;
/// inv.end(Vec::new(), ptel::Outcome::Ok, "")?;
/// exporter.submit(&inv)?; // never blocks on the network
/// exporter.shutdown(std::time::Duration::from_secs(5))?;
/// assert_eq!(exporter.stats().traces.items_sent, 1); // the invocation span
/// # Ok::<(), ptel::Error>(())
/// ```
pub struct Exporter {
    raw: NonNull<sys::ptel_exporter>,
    _hooks: Option<Box<Hooks>>,
}

// SAFETY: export.h: every call but free may run from any number of threads
// at once; free runs once from Drop with exclusive access. The clock is
// Send + Sync and the allocator is the global one.
unsafe impl Send for Exporter {}
// SAFETY: as above.
unsafe impl Sync for Exporter {}

impl Drop for Exporter {
    fn drop(&mut self) {
        // SAFETY: raw is owned; &mut self excludes every other call.
        unsafe { sys::ptel_exporter_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter")
            .field("stats", &self.stats())
            .finish()
    }
}

fn deadline_ms(d: Duration) -> u32 {
    ms(d)
}

/// The options' clock, shared with the exporter that outlives them.
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn monotonic_ns(&self) -> u64 {
        self.0.monotonic_ns()
    }
    fn realtime_ns(&self) -> u64 {
        self.0.realtime_ns()
    }
}

impl Exporter {
    /// Create an exporter (for OTLP/HTTP, its thread starts). Errors:
    /// [`ErrorKind::InvalidArgument`] (a URL that is not http(s), headers
    /// that do not parse, an empty path), [`ErrorKind::Value`] (bad
    /// resource attributes), [`ErrorKind::Io`] (the file cannot be opened),
    /// [`ErrorKind::Unsupported`] (libcurl, or zlib for gzip, cannot be
    /// loaded), [`ErrorKind::NoMem`]; the error's reason says which.
    ///
    /// ```
    /// let mut opts = ptel::ExporterOptions::default();
    /// opts.kind = ptel::ExporterKind::OtlpHttp;
    /// opts.endpoint = "ftp://example".into();
    /// assert_eq!(ptel::Exporter::new(&opts).unwrap_err().kind(), ptel::ErrorKind::InvalidArgument);
    /// ```
    pub fn new(opts: &ExporterOptions<'_>) -> Result<Exporter> {
        // The exporter keeps its own handle on the options' clock.
        let clock = opts
            .clock
            .clone()
            .map(|c| Box::new(SharedClock(c)) as Box<dyn Clock>);
        let hooks = Hooks::new(clock, None);
        let mut out = core::ptr::null_mut();
        let mut diag = sys::ptel_diag::default();
        let rc = opts.with_c(hooks.as_deref(), |o| {
            // SAFETY: o and everything it points to are valid for the call;
            // the hooks stay boxed in the Exporter while the C object lives.
            unsafe { sys::ptel_exporter_new(&mut out, o, &mut diag) }
        })?;
        check_diag(rc, &diag)?;
        let raw = NonNull::new(out).ok_or_else(|| Error::new(ErrorKind::NoMem))?;
        Ok(Exporter { raw, _hooks: hooks })
    }

    /// An exporter configured from the defaults and the process's `OTEL_*`
    /// variables. Unlike [`ExporterOptions::apply_env`], a bad variable is
    /// an error here ([`ErrorKind::Value`]), so that a typo does not go
    /// unnoticed.
    ///
    /// ```no_run
    /// let exporter = ptel::Exporter::from_env()?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn from_env() -> Result<Exporter> {
        let mut opts = ExporterOptions::default();
        opts.apply_env()?;
        Exporter::new(&opts)
    }

    /// Submit an ended invocation: its traces are queued or written, its
    /// metric deltas folded into the exporter's aggregator, its report
    /// counted in the self-telemetry. Copies what it needs. A full queue is
    /// not an error (counted as [`DropReason::QueueFull`]). Errors:
    /// [`ErrorKind::State`] (invocation not ended, or exporter shut down),
    /// [`ErrorKind::Io`] (a synchronous write failed), [`ErrorKind::NoMem`].
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let exporter = ptel::Exporter::new(&opts)?;
    /// let inv = ptel::Invocation::builder().begin()?;
    /// assert_eq!(exporter.submit(&inv).unwrap_err().kind(), ptel::ErrorKind::State);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn submit(&self, inv: &Invocation) -> Result<()> {
        // SAFETY: both objects are live; the exporter locks internally and
        // an ended invocation allows concurrent reads.
        check(unsafe { sys::ptel_exporter_submit_invocation(self.raw.as_ptr(), inv.raw.as_ptr()) })
    }

    /// Submit an assembled ExportTraceServiceRequest (copied). A malformed
    /// one is refused ([`ErrorKind::Malformed`] / [`ErrorKind::Truncated`]);
    /// an empty one does nothing.
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let exporter = ptel::Exporter::new(&opts)?;
    /// exporter.submit_traces(&[])?;
    /// assert!(exporter.submit_traces(&[0x0a, 0x05]).is_err());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn submit_traces(&self, request: &[u8]) -> Result<()> {
        // SAFETY: raw is live; the request is read during the call only.
        check(unsafe {
            sys::ptel_exporter_submit_traces(self.raw.as_ptr(), request.as_ptr(), request.len())
        })
    }

    /// As [`Exporter::submit_traces`], for an ExportMetricsServiceRequest,
    /// exported as it is (not aggregated).
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let exporter = ptel::Exporter::new(&opts)?;
    /// exporter.submit_metrics(&[])?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn submit_metrics(&self, request: &[u8]) -> Result<()> {
        // SAFETY: as in submit_traces.
        check(unsafe {
            sys::ptel_exporter_submit_metrics(self.raw.as_ptr(), request.as_ptr(), request.len())
        })
    }

    /// Run a metric cycle and wait until everything submitted before has
    /// been sent or dropped, or `deadline` passed ([`ErrorKind::Timeout`];
    /// the rest is still sent later). [`ErrorKind::State`] after shutdown.
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let exporter = ptel::Exporter::new(&opts)?;
    /// exporter.flush(std::time::Duration::from_secs(1))?;
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn flush(&self, deadline: Duration) -> Result<()> {
        // SAFETY: raw is live; the exporter locks internally.
        check(unsafe { sys::ptel_exporter_flush(self.raw.as_ptr(), deadline_ms(deadline)) })
    }

    /// Flush, then stop: wait up to `deadline` for the queue to drain, stop
    /// the thread, drop and count what is left ([`DropReason::Shutdown`];
    /// then [`ErrorKind::Timeout`]), close the file. Later submits fail with
    /// [`ErrorKind::State`], as does a second shutdown.
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let exporter = ptel::Exporter::new(&opts)?;
    /// exporter.shutdown(std::time::Duration::from_secs(1))?;
    /// assert_eq!(exporter.shutdown(std::time::Duration::ZERO).unwrap_err().kind(), ptel::ErrorKind::State);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn shutdown(&self, deadline: Duration) -> Result<()> {
        // SAFETY: raw is live; the exporter locks internally.
        check(unsafe { sys::ptel_exporter_shutdown(self.raw.as_ptr(), deadline_ms(deadline)) })
    }

    /// The counters.
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let exporter = ptel::Exporter::new(&opts)?;
    /// assert_eq!(exporter.stats().traces.requests_submitted, 0);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn stats(&self) -> ExporterStats {
        let mut s = sys::ptel_exporter_stats::default();
        // SAFETY: raw is live; s is writable.
        unsafe { sys::ptel_exporter_get_stats(self.raw.as_ptr(), &mut s) };
        let sig = |i: u32| SignalStats::from_c(&s.signals[i as usize]);
        ExporterStats {
            traces: sig(sys::PTEL_EXPORT_SIGNAL_TRACES),
            metrics: sig(sys::PTEL_EXPORT_SIGNAL_METRICS),
            invocations: s.invocations,
            queue_requests: s.queue_requests,
            queue_bytes: s.queue_bytes,
            last_http_status: s.last_http_status,
            raw: s,
        }
    }

    /// The requests a [`ExporterKind::Memory`] exporter holds for `signal`,
    /// in submission order (copies; empty for other kinds).
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let exporter = ptel::Exporter::new(&opts)?;
    /// assert!(exporter.memory_requests(ptel::Signal::Traces).is_empty());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn memory_requests(&self, signal: Signal) -> Vec<Vec<u8>> {
        let s = signal.to_c();
        // SAFETY: raw is live.
        let n = unsafe { sys::ptel_exporter_memory_count(self.raw.as_ptr(), s) };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (mut data, mut len) = (core::ptr::null(), 0usize);
            // SAFETY: raw is live; data/len are writable.
            let rc = unsafe {
                sys::ptel_exporter_memory_get(self.raw.as_ptr(), s, i, &mut data, &mut len)
            };
            if rc != 0 {
                break;
            }
            // SAFETY: the core lends data[..len] until the next clear or
            // free, and both need &mut self, which &self here excludes.
            out.push(unsafe { core::slice::from_raw_parts(data, len) }.to_vec());
        }
        out
    }

    /// Release the requests a memory exporter holds.
    ///
    /// ```
    /// # let mut opts = ptel::ExporterOptions::default();
    /// # opts.kind = ptel::ExporterKind::Memory;
    /// let mut exporter = ptel::Exporter::new(&opts)?;
    /// exporter.memory_clear();
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn memory_clear(&mut self) {
        // SAFETY: raw is live; &mut self keeps memory_requests from running.
        unsafe { sys::ptel_exporter_memory_clear(self.raw.as_ptr()) }
    }
}
