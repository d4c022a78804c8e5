//! # ptel — plugin telemetry for Rust
//!
//! ptel moves OpenTelemetry trace context into plugins and their spans and
//! metrics (as OTLP protobuf fragments) back out; the host validates the
//! untrusted output and exports it. This crate is the safe binding of the C
//! core (built from source by `ptel-sys`), so its payloads are byte for byte
//! those of the C, Python and Go bindings.
//!
//! ## Plugin side
//!
//! ```
//! use ptel::{Context, KeyValue, Recorder, StatusCode};
//!
//! // The host hands in a context: W3C strings, PluginContext bytes
//! // (Context::decode) or the environment (Context::from_env).
//! let ctx = Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
//! let mut rec = Recorder::new(&ctx);
//! let detections = rec.i64_counter("pii.detections").with_unit("{detection}").build();
//! {
//!     let span = rec.span("pii.scan");
//!     span.set_attributes(&[KeyValue::new("bytes", 42), KeyValue::new("lang", "en")]);
//!     detections.add(1, &[KeyValue::new("pii.type", "email")]); // exemplar: the live span
//!     span.set_status(StatusCode::Ok, "");
//! } // spans end when dropped
//! drop(detections);
//! let payload: Vec<u8> = rec.finish().to_vec(); // PluginTelemetry bytes for the host
//! # assert!(payload.len() > 2);
//! # Ok::<(), ptel::Error>(())
//! ```
//!
//! Telemetry never fails a plugin: recording calls neither panic nor return
//! errors; what the recorder refuses is counted ([`Recorder::drops`]) and a
//! strict mode collects the errors for tests. No panic crosses the FFI
//! boundary: callbacks handed to C (clock, id generator, environment lookup,
//! allocator) catch unwinding.
//!
//! ## Host side
//!
//! [`Invocation`] opens the host's span for one plugin call, hands out the
//! plugin's [`Context`], validates the returned payload into a [`Report`]
//! and writes OTLP export requests; [`Aggregator`] folds the metric deltas
//! of many invocations into cumulative streams; [`json::render`] turns any
//! of the messages into canonical OTLP/JSON.
//!
//! ## Export
//!
//! [`Exporter`] wraps the core's built-in exporters: OTLP/HTTP (protobuf,
//! optional gzip, a bounded queue, batching and retries on a background
//! thread, so a submit never blocks on the network), OTLP/JSON lines,
//! console and in-memory, configured by [`ExporterOptions`] or the standard
//! `OTEL_*` variables ([`Exporter::from_env`]). With the `sdk` feature,
//! [`sdk::Adapter`] hands the telemetry to the host's own
//! `opentelemetry_sdk` pipeline instead.
//!
//! ```
//! let mut opts = ptel::ExporterOptions::default(); // or Exporter::from_env()
//! opts.kind = ptel::ExporterKind::Memory;
//! opts.service_name = "gateway".into();
//! let exporter = ptel::Exporter::new(&opts)?;
//! let mut inv = ptel::Invocation::builder().plugin("pii_filter", "1.0.0").begin()?;
//! let ctx = inv.context().to_context()?;
//! let mut rec = ptel::Recorder::new(&ctx);
//! rec.span("pii_filter.scan");
//! inv.end(rec.finish(), ptel::Outcome::Ok, "")?;
//! exporter.submit(&inv)?;
//! exporter.shutdown(std::time::Duration::from_secs(5))?; // flush, then stop
//! assert_eq!(exporter.stats().traces.items_sent, 2);
//! # Ok::<(), ptel::Error>(())
//! ```
//!
//! ## Threads
//!
//! [`Context`] is immutable: `Send + Sync`. [`Recorder`] is `Send` but not
//! `Sync` (one thread at a time); its spans and instruments borrow it.
//! [`Invocation`] is `Send + Sync` (read-only after `end`); [`Aggregator`]
//! locks internally and is `Send + Sync`.
//!
//! ## Memory
//!
//! The core allocates through Rust's global allocator, so a
//! `#[global_allocator]` sees (and can count) its memory too. A warm
//! recorder (reused with [`Recorder::reset`]) allocates nothing per span.
//!
//! ## Features
//!
//! * `opentelemetry`: `Context::from_otel` and conversions between
//!   [`SpanContext`] and `opentelemetry::trace::SpanContext`.
//! * `sdk` (implies `opentelemetry`): [`sdk::Adapter`], the invocation span
//!   as a span of the host's `opentelemetry_sdk` and plugin spans and
//!   metrics into its tracer and meter providers.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod attr;
mod callbacks;
mod context;
mod error;
mod exporter;
mod host;
pub mod json;
mod metrics;
#[cfg(feature = "opentelemetry")]
mod otel;
mod recorder;
#[cfg(feature = "sdk")]
pub mod sdk;
pub mod w3c;

pub use attr::{AttrValue, KeyValue};
pub use callbacks::{Clock, IdGenerator};
pub use context::{Context, ContextBuilder, ContextRef, Decision, Limits, SpanContext};
pub use error::{Error, ErrorKind, Result};
pub use exporter::{
    Compression, DropReason, Exporter, ExporterKind, ExporterOptions, ExporterStats, Signal,
    SignalStats, TemporalityPreference,
};
pub use host::{
    Aggregator, AggregatorOptions, AggregatorStats, ExportOptions, HostPolicy, Invocation,
    InvocationBuilder, Outcome, Reason, Report, Temporality, TimePolicy,
};
pub use metrics::{
    Built, Counter, Gauge, Histogram, InstrumentBuilder, Number, UpDownCounter,
    default_histogram_bounds,
};
pub use recorder::{
    DropCounts, Recorder, RecorderBuilder, Span, SpanBuilder, SpanKind, StatusCode,
};

/// Raw FFI declarations (the `ptel-sys` crate), for what this crate does not wrap.
pub use ptel_sys as sys;

/// The C core's version, "MAJOR.MINOR.PATCH".
///
/// ```
/// assert_eq!(ptel::version(), "0.1.0");
/// ```
pub fn version() -> &'static str {
    // SAFETY: ptel_version returns a static NUL-terminated string.
    error::static_str(unsafe { sys::ptel_version() })
}

/// The protocol major version this core speaks (1).
///
/// ```
/// assert_eq!(ptel::PROTOCOL_VERSION, 1);
/// ```
pub const PROTOCOL_VERSION: u32 = sys::PTEL_PROTOCOL_VERSION;

/// How many frees and reallocations from the core passed a size that
/// disagreed with the block's (a bookkeeping bug; tests assert 0).
#[doc(hidden)]
pub fn __allocator_size_mismatches() -> usize {
    callbacks::SIZE_MISMATCHES.load(core::sync::atomic::Ordering::Relaxed)
}

/// Run a C function that writes into a caller buffer with a size query
/// (`PTEL_E_BUFFER_TOO_SMALL` with the size in `*len`), returning the bytes.
pub(crate) fn size_query(
    f: impl FnMut(*mut u8, usize, &mut usize) -> core::ffi::c_int,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    size_query_into(&mut out, f)?;
    Ok(out)
}

/// As [`size_query`], writing into `out` (cleared first; capacity reused).
pub(crate) fn size_query_into(
    out: &mut Vec<u8>,
    mut f: impl FnMut(*mut u8, usize, &mut usize) -> core::ffi::c_int,
) -> Result<()> {
    out.clear();
    for _ in 0..8 {
        let cap = out.capacity();
        let mut len = 0usize;
        let buf = if cap == 0 {
            core::ptr::null_mut()
        } else {
            out.as_mut_ptr()
        };
        let rc = f(buf, cap, &mut len);
        if rc == 0 {
            // SAFETY: the function wrote len <= cap initialised bytes.
            unsafe { out.set_len(len.min(cap)) };
            return Ok(());
        }
        if rc != sys::PTEL_E_BUFFER_TOO_SMALL {
            return Err(Error::from_code(rc));
        }
        out.reserve(len.max(1));
    }
    // The size kept growing (only possible for a shared aggregator under
    // constant writes): give up rather than loop forever.
    Err(Error::new(ErrorKind::BufferTooSmall))
}
