//! Plugin spans into the host's span processors: [`PluginSpans`] (the
//! hand-off point), [`PluginSpanProcessor`] (the wrapper the host registers)
//! and the conversion of validated OTLP spans into `SpanData`.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_proto::tonic::trace::v1 as pb;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor};

use super::convert::{self, FLAG_HAS_IS_REMOTE, FLAG_IS_REMOTE};

/// Where an adapter delivers plugin spans: every [`PluginSpanProcessor`]
/// made by [`PluginSpans::wrap`], in the order they were wrapped. Cheap to
/// clone (one shared list); holds the processors weakly, so a dropped
/// tracer provider takes them with it.
///
/// The SDK does not let anyone reach the processors of a built
/// `SdkTracerProvider`, so the host wraps the processors it registers (its
/// `BatchSpanProcessor` with its exporter, say) and hands this to the
/// [`Adapter`](super::Adapter): plugin spans then pass through the same
/// processor and exporter as the host's own spans, under the provider's
/// resource.
///
/// ```
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
/// let spans = ptel::sdk::PluginSpans::new();
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(spans.wrap(SimpleSpanProcessor::new(exporter.clone())))
///     .build();
/// assert_eq!(spans.len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct PluginSpans {
    targets: Arc<Mutex<Vec<Weak<dyn Target>>>>,
}

impl fmt::Debug for PluginSpans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginSpans")
            .field("processors", &self.len())
            .finish()
    }
}

/// What a wrapped processor offers the hand-off: `on_end` for a span that
/// was never an SDK `Span`.
trait Target: Send + Sync {
    fn deliver(&self, span: SpanData);
}

struct Shared<P> {
    processor: RwLock<P>,
}

impl<P: SpanProcessor> Target for Shared<P> {
    fn deliver(&self, span: SpanData) {
        self.processor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .on_end(span)
    }
}

impl PluginSpans {
    /// An empty hand-off: plugin spans go nowhere until a processor is
    /// wrapped.
    ///
    /// ```
    /// assert!(ptel::sdk::PluginSpans::new().is_empty());
    /// ```
    pub fn new() -> PluginSpans {
        PluginSpans::default()
    }

    /// Wrap `processor` so that it also receives plugin spans; register the
    /// result with the tracer provider in place of `processor`. It forwards
    /// every call (`on_start`, `on_end`, `force_flush`, `shutdown`,
    /// `set_resource`) to `processor` unchanged.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
    /// let spans = ptel::sdk::PluginSpans::new();
    /// let p = spans.wrap(SimpleSpanProcessor::new(InMemorySpanExporter::default()));
    /// # drop(p);
    /// ```
    pub fn wrap<P: SpanProcessor + 'static>(&self, processor: P) -> PluginSpanProcessor<P> {
        let shared = Arc::new(Shared {
            processor: RwLock::new(processor),
        });
        let weak: Weak<dyn Target> = Arc::downgrade(&(shared.clone() as Arc<dyn Target>));
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        targets.retain(|t| t.strong_count() > 0);
        targets.push(weak);
        PluginSpanProcessor { shared }
    }

    /// Live wrapped processors.
    ///
    /// ```
    /// assert_eq!(ptel::sdk::PluginSpans::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        let targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        targets.iter().filter(|t| t.strong_count() > 0).count()
    }

    /// True when no wrapped processor is alive.
    ///
    /// ```
    /// assert!(ptel::sdk::PluginSpans::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hand `spans` to every live wrapped processor (`on_end`, as if each
    /// had just ended); returns how many processors received them.
    pub(crate) fn deliver(&self, spans: &[SpanData]) -> usize {
        if spans.is_empty() {
            return 0;
        }
        // Upgrade under the lock, deliver outside it: a processor may take
        // its time (a simple processor exports synchronously).
        let live: Vec<Arc<dyn Target>> = {
            let targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
            targets.iter().filter_map(Weak::upgrade).collect()
        };
        for target in &live {
            for span in spans {
                target.deliver(span.clone());
            }
        }
        live.len()
    }
}

/// A host span processor that also receives plugin spans (made by
/// [`PluginSpans::wrap`]). Register it with the tracer provider instead of
/// the processor it wraps.
pub struct PluginSpanProcessor<P> {
    shared: Arc<Shared<P>>,
}

impl<P: fmt::Debug> fmt::Debug for PluginSpanProcessor<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self
            .shared
            .processor
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_tuple("PluginSpanProcessor").field(&*p).finish()
    }
}

impl<P: SpanProcessor + 'static> SpanProcessor for PluginSpanProcessor<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.read().on_start(span, cx)
    }

    fn on_end(&self, span: SpanData) {
        self.read().on_end(span)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.read().force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.read().shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.read().shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.shared
            .processor
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .set_resource(resource)
    }
}

impl<P> PluginSpanProcessor<P> {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, P> {
        self.shared
            .processor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// OTLP span kind (validated: 0 to 5) as the SDK's; UNSPECIFIED (0), which
/// the SDK cannot hold, becomes INTERNAL.
fn kind(k: i32) -> SpanKind {
    match k {
        2 => SpanKind::Server,
        3 => SpanKind::Client,
        4 => SpanKind::Producer,
        5 => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

/// OTLP status as the SDK's. The SDK keeps a description only with ERROR,
/// as the OpenTelemetry API says; a message under UNSET or OK is dropped.
pub(crate) fn status(s: Option<&pb::Status>) -> Status {
    match s {
        Some(s) if s.code == pb::status::StatusCode::Ok as i32 => Status::Ok,
        Some(s) if s.code == pb::status::StatusCode::Error as i32 => {
            Status::error(s.message.clone())
        }
        _ => Status::Unset,
    }
}

/// One validated plugin span as `SpanData` under `scope`, with the number
/// of attribute values (of the span, its events and links) that had no
/// `opentelemetry` representation and were counted as dropped.
pub(crate) fn span_data(
    s: &pb::Span,
    scope: &opentelemetry::InstrumentationScope,
) -> (SpanData, u32) {
    let (attributes, mut unrepresentable) = convert::attributes(&s.attributes);
    let mut events = SpanEvents::default();
    events.dropped_count = s.dropped_events_count;
    for e in &s.events {
        let (attrs, n) = convert::attributes(&e.attributes);
        unrepresentable = unrepresentable.saturating_add(n);
        events.events.push(opentelemetry::trace::Event::new(
            e.name.clone(),
            convert::time(e.time_unix_nano),
            attrs,
            e.dropped_attributes_count.saturating_add(n),
        ));
    }
    let mut links = SpanLinks::default();
    links.dropped_count = s.dropped_links_count;
    for l in &s.links {
        let (attrs, n) = convert::attributes(&l.attributes);
        unrepresentable = unrepresentable.saturating_add(n);
        let remote = l.flags & FLAG_IS_REMOTE != 0;
        let sc = convert::span_context(&l.trace_id, &l.span_id, l.flags, remote, &l.trace_state);
        links.links.push(opentelemetry::trace::Link::new(
            sc,
            attrs,
            l.dropped_attributes_count.saturating_add(n),
        ));
    }
    let own = attributes.len();
    let data = SpanData {
        span_context: convert::span_context(
            &s.trace_id,
            &s.span_id,
            s.flags,
            false,
            &s.trace_state,
        ),
        parent_span_id: <[u8; 8]>::try_from(s.parent_span_id.as_slice()).map_or(
            opentelemetry::trace::SpanId::INVALID,
            opentelemetry::trace::SpanId::from_bytes,
        ),
        parent_span_is_remote: s.flags & (FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE)
            == FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE,
        span_kind: kind(s.kind),
        name: s.name.clone().into(),
        start_time: convert::time(s.start_time_unix_nano),
        end_time: convert::time(s.end_time_unix_nano),
        attributes,
        dropped_attributes_count: s
            .dropped_attributes_count
            .saturating_add(u32::try_from(s.attributes.len() - own).unwrap_or(u32::MAX)),
        events,
        links,
        status: status(s.status.as_ref()),
        instrumentation_scope: scope.clone(),
    };
    (data, unrepresentable)
}
