//! The flow of the adapter example, apart from the SDK set-up, so that the
//! ptel crate's tests (bindings/rust/ptel/tests/sdk.rs) run exactly this
//! against in-memory exporters. Needs a sibling module `plugin`.

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};

use super::plugin::pii_filter;

/// What one gateway request left behind.
pub struct Request {
    /// The request's trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// The ended invocation (its validated telemetry, which the ptel
    /// crate's test compares with what the SDK exported).
    #[allow(dead_code)] // read by that test, not by main
    pub invocation: ptel::Invocation,
    /// What validation of the plugin's payload did.
    pub report: ptel::Report,
}

/// One gateway request: the root span `gateway.request` (SERVER), one
/// plugin invocation under it through `adapter`, then the request's end.
pub fn gateway_request<T>(tracer: &T, adapter: &ptel::sdk::Adapter) -> ptel::Result<Request>
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    let request = tracer
        .span_builder("gateway.request")
        .with_kind(SpanKind::Server)
        .start(tracer);
    let cx = opentelemetry::Context::new().with_span(request);
    let builder = ptel::Invocation::builder()
        .plugin("pii_filter", "1.0.0")
        .hook("tool_pre_invoke");
    let mut call = adapter.begin(&cx, builder)?;
    let plugin_ctx = call.invocation().context().to_context()?;
    let payload = pii_filter(&plugin_ctx);
    let report = call.end(payload, ptel::Outcome::Ok, "")?;
    let trace_id = cx.span().span_context().trace_id().to_string();
    cx.span().end();
    Ok(Request {
        trace_id,
        invocation: call.into_invocation(),
        report,
    })
}
