//! The adapter into the host's own OpenTelemetry SDK (`opentelemetry_sdk`,
//! cargo feature `sdk`): the invocation span is a real span of the host's
//! tracer, and the validated plugin spans and metrics enter the host's
//! tracer and meter providers, so the processors, exporters, views and
//! resource the host configured apply to them.
//!
//! ```
//! use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
//!
//! // Host set-up: wrap the span processor(s) the provider gets.
//! let plugin_spans = ptel::sdk::PluginSpans::new();
//! let exporter = InMemorySpanExporter::default();
//! let provider = SdkTracerProvider::builder()
//!     .with_span_processor(plugin_spans.wrap(SimpleSpanProcessor::new(exporter.clone())))
//!     .build();
//! let adapter = ptel::sdk::Adapter::new(provider.tracer("gateway"), plugin_spans);
//!
//! // Per plugin call: the invocation span is a child of the current span.
//! let request = provider.tracer("gateway").start("gateway.request");
//! let cx = opentelemetry::Context::current_with_span(request);
//! let mut call = adapter.begin(&cx, ptel::Invocation::builder().plugin("pii_filter", "1.0.0"))?;
//! let plugin_ctx = call.invocation().context().to_context()?; // hand this to the plugin
//! let mut rec = ptel::Recorder::new(&plugin_ctx);
//! rec.span("pii_filter.scan");
//! let report = call.end(rec.finish(), ptel::Outcome::Ok, "")?;
//! assert_eq!(report.spans_accepted, 1);
//! let spans = exporter.get_finished_spans().unwrap();
//! assert_eq!(spans.len(), 2); // the plugin span, then the invocation span
//! assert_eq!(spans[0].instrumentation_scope.name(), "pii_filter");
//! assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
//! # Ok::<(), ptel::Error>(())
//! ```
//!
//! ## Spans
//!
//! [`Adapter::begin`] starts the invocation span with the host's tracer as
//! a child of the given context, and begins the ptel [`Invocation`] with
//! that span's ids, start time, flags and tracestate, and a decision that
//! follows the SDK's sampler (sampled: record and sample; recording only:
//! record only, kept when the host policy's `accept_record_only` is set;
//! not recording: drop). [`SdkInvocation::end`] validates the plugin's
//! payload, gives the SDK span the name, attributes (`plugin.*`,
//! `error.type`), status and end time ptel decided for the invocation span,
//! and ends it; ptel never exports that span itself.
//!
//! The SDK lets nobody reach the span processors of a built tracer
//! provider, nor create a span with given ids and times through a tracer.
//! So the host wraps the processors it registers with [`PluginSpans::wrap`]
//! and hands the [`PluginSpans`] to the adapter, which gives each wrapped
//! processor every accepted plugin span as `SpanData` (`on_end`), just
//! before the invocation span ends. The processors' exporters add the
//! provider's resource, as for the host's own spans. Each `SpanData` holds
//! the validated OTLP span exactly, under the plugin's instrumentation
//! scope (name, version, attributes, schema URL), except where the
//! `opentelemetry` types cannot hold a value:
//!
//! * attribute values of type bytes, key-value list, mixed or nested array,
//!   or empty, are dropped and added to the owner's
//!   `dropped_attributes_count` (and to [`AdapterStats::attributes_dropped`]);
//! * a status message under UNSET or OK is dropped (the API keeps one only
//!   with ERROR); span kind UNSPECIFIED becomes INTERNAL;
//! * a span or link tracestate that is not valid W3C becomes empty.
//!
//! ## Metrics
//!
//! The SDK's metric pipeline accepts measurements only (its data types have
//! no public constructors and it has no producer interface), so with
//! [`Adapter::with_meter_provider`] the adapter records each validated
//! delta data point through an instrument of the plugin's scope from the
//! host's meter provider: the host's readers, views, temporality, exporters
//! and resource apply, and the SDK stamps start and end times and
//! aggregates across invocations. Exemplars are not carried. Per type:
//!
//! * counter (monotonic sum): `Counter<u64>` / `Counter<f64>` `add` of the
//!   delta: exact;
//! * up-down counter: `UpDownCounter<i64>` / `<f64>` `add`: exact;
//! * gauge: `Gauge<i64>` / `<f64>` `record`: exact (the last value wins);
//! * histogram: `Histogram<f64>` with the point's bounds. A data point has
//!   lost its measurements, so the adapter records measurements that give
//!   the same aggregate: with one or two measurements the values themselves
//!   (the sum, or min and max: exact); with more, min, max and the others
//!   placed inside their buckets so that count, bucket counts, min and max
//!   are exact and the sum is exact up to floating-point rounding. A point
//!   with no min or max, inconsistent buckets or more than 10 000
//!   measurements is skipped ([`AdapterStats::points_skipped`]).
//!
//! Data point attributes that the `opentelemetry` types cannot hold are
//! dropped (counted in [`AdapterStats::attributes_dropped`]).

mod convert;
mod metrics;
mod spans;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::context::{Decision, SpanContext};
use crate::error::{Error, ErrorKind, Result};
use crate::host::{ExportOptions, Invocation, InvocationBuilder, Outcome, Report};

pub use spans::{PluginSpanProcessor, PluginSpans};

/// What an [`Adapter`] handed to the host's SDK, summed over its calls.
///
/// ```
/// # use opentelemetry::trace::TracerProvider as _;
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let adapter = ptel::sdk::Adapter::new(provider.tracer("host"), ptel::sdk::PluginSpans::new());
/// assert_eq!(adapter.stats(), ptel::sdk::AdapterStats::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AdapterStats {
    /// Invocations ended through the adapter.
    pub invocations: u64,
    /// Plugin spans handed to the wrapped processors (once per span, however
    /// many processors received it).
    pub spans_delivered: u64,
    /// Plugin spans that found no wrapped processor alive.
    pub spans_undelivered: u64,
    /// Metric data points recorded through the host's instruments.
    pub points_recorded: u64,
    /// Data points that could not be recorded (see the module documentation).
    pub points_skipped: u64,
    /// Attribute values the `opentelemetry` types cannot hold, dropped.
    pub attributes_dropped: u64,
}

#[derive(Default)]
struct Counters {
    invocations: AtomicU64,
    spans_delivered: AtomicU64,
    spans_undelivered: AtomicU64,
    points_recorded: AtomicU64,
    points_skipped: AtomicU64,
    attributes_dropped: AtomicU64,
}

type StartSpan =
    dyn Fn(SpanBuilder, &opentelemetry::Context) -> opentelemetry::Context + Send + Sync;

/// Connects ptel invocations to the host's OpenTelemetry SDK (see the
/// [module documentation](self)). Cheap to clone (clones share the
/// processors, instruments and counters); `Send + Sync`.
#[derive(Clone)]
pub struct Adapter {
    start: Arc<StartSpan>,
    spans: PluginSpans,
    metrics: Option<Arc<metrics::Replayer>>,
    counters: Arc<Counters>,
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter")
            .field("spans", &self.spans)
            .field("metrics", &self.metrics.is_some())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Adapter {
    /// An adapter that opens invocation spans with `tracer` (from the
    /// host's tracer provider) and delivers plugin spans to the processors
    /// wrapped by `spans`.
    ///
    /// ```
    /// # use opentelemetry::trace::TracerProvider as _;
    /// let spans = ptel::sdk::PluginSpans::new();
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let adapter = ptel::sdk::Adapter::new(provider.tracer("gateway"), spans);
    /// ```
    pub fn new<T>(tracer: T, spans: PluginSpans) -> Adapter
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        let start = move |b: SpanBuilder, parent: &opentelemetry::Context| {
            parent.with_span(tracer.build_with_context(b, parent))
        };
        Adapter {
            start: Arc::new(start),
            spans,
            metrics: None,
            counters: Arc::default(),
        }
    }

    /// Also record plugin metrics through `provider` (the host's meter
    /// provider, e.g. an `SdkMeterProvider`). Without it, metrics stay with
    /// the [`Invocation`] (aggregate or export them yourself).
    ///
    /// ```
    /// # use opentelemetry::trace::TracerProvider as _;
    /// # let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder().build();
    /// let adapter = ptel::sdk::Adapter::new(provider.tracer("gateway"), ptel::sdk::PluginSpans::new())
    ///     .with_meter_provider(meters);
    /// ```
    pub fn with_meter_provider(
        mut self,
        provider: impl MeterProvider + Send + Sync + 'static,
    ) -> Adapter {
        self.metrics = Some(Arc::new(metrics::Replayer::new(provider)));
        self
    }

    /// Totals of what the adapter did.
    ///
    /// ```
    /// # use opentelemetry::trace::TracerProvider as _;
    /// # let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let adapter = ptel::sdk::Adapter::new(provider.tracer("h"), ptel::sdk::PluginSpans::new());
    /// assert_eq!(adapter.stats().invocations, 0);
    /// ```
    pub fn stats(&self) -> AdapterStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        AdapterStats {
            invocations: get(&c.invocations),
            spans_delivered: get(&c.spans_delivered),
            spans_undelivered: get(&c.spans_undelivered),
            points_recorded: get(&c.points_recorded),
            points_skipped: get(&c.points_skipped),
            attributes_dropped: get(&c.attributes_dropped),
        }
    }

    /// Start the invocation span as a child of `parent`'s span (a root when
    /// it has none) and begin the ptel invocation described by `builder`
    /// under it. The adapter sets the builder's parent, tracestate,
    /// decision, span id and start time (a start time set on the builder is
    /// kept and given to the SDK span); everything else (plugin, hook,
    /// attributes, policy, clock) is the caller's. Errors as
    /// [`InvocationBuilder::begin`]; the SDK span is then ended at once.
    ///
    /// ```
    /// # use opentelemetry::trace::TracerProvider as _;
    /// # let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// # let adapter = ptel::sdk::Adapter::new(provider.tracer("h"), ptel::sdk::PluginSpans::new());
    /// let call = adapter.begin(&opentelemetry::Context::new(), ptel::Invocation::builder().plugin("p", "1"))?;
    /// assert_eq!(call.invocation().context().plugin_name(), "p");
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn begin(
        &self,
        parent: &opentelemetry::Context,
        builder: InvocationBuilder<'_>,
    ) -> Result<SdkInvocation> {
        let start = if builder.start != 0 {
            convert::time(builder.start)
        } else {
            SystemTime::now()
        };
        let name = if builder.span_name.is_empty() {
            // ptel's default (host.h); the name ptel decides replaces it at the end.
            "plugin.execute".to_owned()
        } else {
            builder.span_name.to_owned()
        };
        let sb = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Internal)
            .with_start_time(start);
        let cx = (self.start)(sb, parent);
        let span = cx.span();
        let sc = span.span_context().clone();
        let parent_sc = parent.span().span_context().clone();
        // The parent ptel sees: the SDK span's own parent, or (for a root)
        // the SDK span's trace with no span id; its flags are the SDK span's
        // so the plugin spans carry the same flags.
        let ptel_parent = SpanContext {
            trace_id: sc.trace_id().to_bytes(),
            span_id: if parent_sc.is_valid() {
                parent_sc.span_id().to_bytes()
            } else {
                [0; 8]
            },
            trace_flags: sc.trace_flags().to_u8(),
            is_remote: parent_sc.is_valid() && parent_sc.is_remote(),
        };
        let decision = if sc.is_sampled() {
            Decision::RecordAndSample
        } else if span.is_recording() {
            Decision::RecordOnly
        } else {
            Decision::Drop
        };
        let tracestate = sc.trace_state().header();
        let begun = builder
            .parent(ptel_parent)
            .tracestate(&tracestate)
            .decision(decision)
            .span_id(sc.span_id().to_bytes())
            .start_time(convert::unix_nano(start))
            .begin();
        match begun {
            Ok(inv) => Ok(SdkInvocation {
                inv,
                cx,
                adapter: self.clone(),
            }),
            Err(e) => {
                span.end();
                Err(e)
            }
        }
    }
}

/// One plugin invocation whose span is a span of the host's SDK (from
/// [`Adapter::begin`]). Dropping it without [`SdkInvocation::end`] ends the
/// SDK span as the SDK does for any dropped span, with no plugin telemetry.
pub struct SdkInvocation {
    inv: Invocation,
    cx: opentelemetry::Context,
    adapter: Adapter,
}

impl fmt::Debug for SdkInvocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkInvocation")
            .field("invocation", &self.inv)
            .finish_non_exhaustive()
    }
}

impl SdkInvocation {
    /// The ptel invocation: its context for the plugin, and after
    /// [`SdkInvocation::end`] its validated telemetry (for an
    /// [`Aggregator`](crate::Aggregator) or other exports).
    ///
    /// ```
    /// # use opentelemetry::trace::TracerProvider as _;
    /// # let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// # let adapter = ptel::sdk::Adapter::new(provider.tracer("h"), ptel::sdk::PluginSpans::new());
    /// let call = adapter.begin(&opentelemetry::Context::new(), ptel::Invocation::builder())?;
    /// let env = call.invocation().context().to_env(); // for a subprocess plugin
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn invocation(&self) -> &Invocation {
        &self.inv
    }

    /// The ptel invocation, keeping it past this value (e.g. to submit it to
    /// an [`Exporter`](crate::Exporter) or an aggregator later). A
    /// not-yet-ended invocation's SDK span ends here, as on drop.
    ///
    /// ```
    /// # use opentelemetry::trace::TracerProvider as _;
    /// # let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// # let adapter = ptel::sdk::Adapter::new(provider.tracer("h"), ptel::sdk::PluginSpans::new());
    /// let mut call = adapter.begin(&opentelemetry::Context::new(), ptel::Invocation::builder())?;
    /// call.end(Vec::new(), ptel::Outcome::Ok, "")?;
    /// let inv: ptel::Invocation = call.into_invocation();
    /// assert!(inv.export_traces(&Default::default())?.len() > 0);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn into_invocation(self) -> Invocation {
        self.inv
    }

    /// The `opentelemetry` context whose active span is the invocation span,
    /// for the host's own work inside the call (propagation headers, child
    /// spans).
    ///
    /// ```
    /// use opentelemetry::trace::TraceContextExt;
    /// # use opentelemetry::trace::TracerProvider as _;
    /// # let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// # let adapter = ptel::sdk::Adapter::new(provider.tracer("h"), ptel::sdk::PluginSpans::new());
    /// let call = adapter.begin(&opentelemetry::Context::new(), ptel::Invocation::builder())?;
    /// let sc = call.otel_context().span().span_context().clone();
    /// assert_eq!(sc.span_id().to_bytes(), call.invocation().span_context().span_id);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn otel_context(&self) -> &opentelemetry::Context {
        &self.cx
    }

    /// End the invocation ([`Invocation::end`]: validate `payload`), hand
    /// the accepted plugin spans to the wrapped processors and the metric
    /// points to the host's instruments, then end the SDK invocation span
    /// with the name, attributes, status and end time ptel gave it. The
    /// report says what validation dropped. [`ErrorKind::State`] when
    /// already ended.
    ///
    /// ```
    /// # use opentelemetry::trace::TracerProvider as _;
    /// # let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// # let adapter = ptel::sdk::Adapter::new(provider.tracer("h"), ptel::sdk::PluginSpans::new());
    /// let mut call = adapter.begin(&opentelemetry::Context::new(), ptel::Invocation::builder())?;
    /// let report = call.end(vec![0xff], ptel::Outcome::Error, "bad_input")?;
    /// assert!(report.rejected);
    /// assert_eq!(call.end(Vec::new(), ptel::Outcome::Ok, "").unwrap_err().kind(), ptel::ErrorKind::State);
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn end(
        &mut self,
        payload: impl Into<Vec<u8>>,
        outcome: Outcome,
        error_type: &str,
    ) -> Result<Report> {
        let report = self.inv.end(payload, outcome, error_type)?;
        let c = &self.adapter.counters;
        c.invocations.fetch_add(1, Ordering::Relaxed);
        // The whole request, invocation span included: its attributes and
        // status are ptel's to decide, and this is where they are.
        let opts = ExportOptions::default();
        let traces = self.inv.export_traces(&opts)?;
        let req = ExportTraceServiceRequest::decode(traces.as_slice())
            .map_err(|_| Error::new(ErrorKind::Malformed))?;
        let own_id = self.inv.span_context().span_id;
        let mut host_span = None;
        let mut plugin = Vec::new();
        let mut dropped = 0u64;
        for ss in req.resource_spans.iter().flat_map(|rs| &rs.scope_spans) {
            let scope = convert::scope(ss.scope.as_ref(), &ss.schema_url);
            for s in &ss.spans {
                if s.span_id.as_slice() == own_id.as_slice() {
                    host_span = Some(s);
                } else {
                    let (data, n) = spans::span_data(s, &scope);
                    dropped += u64::from(n);
                    plugin.push(data);
                }
            }
        }
        if let Some(m) = &self.adapter.metrics {
            let metrics = self.inv.export_metrics(&opts)?;
            let req = ExportMetricsServiceRequest::decode(metrics.as_slice())
                .map_err(|_| Error::new(ErrorKind::Malformed))?;
            let mut r = metrics::Replayed::default();
            for sm in req.resource_metrics.iter().flat_map(|rm| &rm.scope_metrics) {
                m.replay(sm, &mut r);
            }
            c.points_recorded.fetch_add(r.points, Ordering::Relaxed);
            c.points_skipped.fetch_add(r.skipped, Ordering::Relaxed);
            dropped += r.attributes_dropped;
        }
        c.attributes_dropped.fetch_add(dropped, Ordering::Relaxed);
        let n = plugin.len() as u64;
        if self.adapter.spans.deliver(&plugin) > 0 {
            c.spans_delivered.fetch_add(n, Ordering::Relaxed);
        } else {
            c.spans_undelivered.fetch_add(n, Ordering::Relaxed);
        }
        let span = self.cx.span();
        match host_span {
            Some(h) => {
                span.update_name(h.name.clone());
                let (attrs, n) = convert::attributes(&h.attributes);
                c.attributes_dropped
                    .fetch_add(u64::from(n), Ordering::Relaxed);
                span.set_attributes(attrs);
                span.set_status(spans::status(h.status.as_ref()));
                span.end_with_timestamp(convert::time(h.end_time_unix_nano));
            }
            // Not recorded (a DROP decision): nothing to copy.
            None => span.end(),
        }
        Ok(report)
    }
}
