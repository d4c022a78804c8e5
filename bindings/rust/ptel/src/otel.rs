//! Conversions from and to the `opentelemetry` crate's span context
//! (cargo feature `opentelemetry`).

use opentelemetry::trace::{self as ot, TraceContextExt};

use crate::context::{Context, SpanContext};
use crate::error::Result;

pub(crate) fn context_from_otel(sc: &ot::SpanContext) -> Result<Context> {
    let ours = SpanContext::from(sc);
    let decision = if sc.is_sampled() {
        crate::Decision::RecordAndSample
    } else {
        crate::Decision::Drop
    };
    let tracestate = sc.trace_state().header();
    Context::builder(ours)
        .tracestate(&tracestate)
        .decision(decision)
        .build()
}

impl From<&ot::SpanContext> for SpanContext {
    /// Ids, flags and the remote bit of an `opentelemetry` span context.
    ///
    /// ```
    /// use opentelemetry::trace::{SpanContext as Ot, SpanId, TraceFlags, TraceId, TraceState};
    /// let ot = Ot::new(TraceId::from(1u128), SpanId::from(2u64), TraceFlags::SAMPLED, false, TraceState::default());
    /// let sc = ptel::SpanContext::from(&ot);
    /// assert_eq!(sc.span_id, [0, 0, 0, 0, 0, 0, 0, 2]);
    /// assert!(sc.is_sampled());
    /// ```
    fn from(sc: &ot::SpanContext) -> SpanContext {
        SpanContext {
            trace_id: sc.trace_id().to_bytes(),
            span_id: sc.span_id().to_bytes(),
            trace_flags: sc.trace_flags().to_u8(),
            is_remote: sc.is_remote(),
        }
    }
}

impl From<SpanContext> for ot::SpanContext {
    /// An `opentelemetry` span context with an empty trace state (use
    /// [`ContextRef::otel_span_context`](crate::ContextRef::otel_span_context) to keep the context's tracestate).
    ///
    /// ```
    /// let sc = ptel::SpanContext::new([1; 16], [2; 8], 1);
    /// let ot: opentelemetry::trace::SpanContext = sc.into();
    /// assert!(ot.is_valid() && ot.is_sampled());
    /// ```
    fn from(sc: SpanContext) -> ot::SpanContext {
        ot::SpanContext::new(
            ot::TraceId::from_bytes(sc.trace_id),
            ot::SpanId::from_bytes(sc.span_id),
            ot::TraceFlags::new(sc.trace_flags),
            sc.is_remote,
            ot::TraceState::default(),
        )
    }
}

impl crate::ContextRef {
    /// The context's span as an `opentelemetry` span context, trace state
    /// included: use it as the remote parent of spans a plugin creates with
    /// an OpenTelemetry SDK of its own.
    ///
    /// ```
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=1", "")?;
    /// let ot = ctx.otel_span_context();
    /// assert_eq!(ot.trace_state().get("a"), Some("1"));
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn otel_span_context(&self) -> ot::SpanContext {
        let sc = self.span_context();
        let ts = self
            .tracestate()
            .parse::<ot::TraceState>()
            .unwrap_or_default();
        ot::SpanContext::new(
            ot::TraceId::from_bytes(sc.trace_id),
            ot::SpanId::from_bytes(sc.span_id),
            ot::TraceFlags::new(sc.trace_flags),
            sc.is_remote,
            ts,
        )
    }

    /// An `opentelemetry` [`Context`](opentelemetry::Context) whose remote
    /// parent is the context's span.
    ///
    /// ```
    /// use opentelemetry::trace::TraceContextExt;
    /// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
    /// let parent = ctx.otel_context();
    /// assert!(parent.has_active_span());
    /// # Ok::<(), ptel::Error>(())
    /// ```
    pub fn otel_context(&self) -> opentelemetry::Context {
        opentelemetry::Context::new().with_remote_span_context(self.otel_span_context())
    }
}
