//! A Rust plugin loaded into Python through PyO3 that records ptel telemetry.
//!
//! The host (any language) hands the plugin its PluginContext bytes; the
//! plugin does its work, records spans and metrics with `ptel`, and returns
//! the PluginTelemetry payload next to its result. Telemetry never fails the
//! plugin: a missing or invalid context only means no telemetry.
//!
//! ```text
//! cargo build -p ptel-pyo3-plugin --release
//! cp target/release/libptel_pyo3_plugin.so ptel_pyo3_plugin.so
//! python3 -c 'import ptel_pyo3_plugin as p; print(p.scan(ctx_bytes, "mail bob@example.com"))'
//! ```
//!
//! `bindings/rust/examples/pyo3-plugin/check.py` does exactly that and
//! checks the payload (run by `make test-rust`).

use ptel::{Context, KeyValue, Recorder, SpanKind, StatusCode};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The plugin's actual work: count e-mail-looking words.
pub fn find_emails(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.');
            matches!(w.split_once('@'), Some((user, host)) if !user.is_empty() && host.contains('.'))
        })
        .collect()
}

/// Run the hook under `ctx`, returning the findings and the payload.
pub fn scan_with(ctx: Option<&Context>, text: &str) -> (usize, Vec<u8>) {
    let Some(ctx) = ctx else {
        return (find_emails(text).len(), Vec::new());
    };
    let mut rec = Recorder::new(ctx);
    let found = {
        let detections = rec
            .i64_counter("pii.detections")
            .with_unit("{detection}")
            .build();
        let sizes = rec.i64_histogram("pii.input.size").with_unit("By").build();
        let span = rec
            .span_builder("pii.scan")
            .kind(SpanKind::Internal)
            .start();
        span.set_attribute("input.bytes", text.len());
        let found = find_emails(text);
        for _ in &found {
            detections.add(1, &[KeyValue::new("pii.type", "email")]);
        }
        sizes.record(text.len() as i64, &[]);
        span.set_attribute("pii.count", found.len());
        span.set_status(StatusCode::Ok, "");
        found.len()
    };
    (found, rec.finish().to_vec())
}

/// scan(context: bytes, text: str) -> (int, bytes)
///
/// Count the e-mail addresses in `text` under the host's PluginContext and
/// return (count, PluginTelemetry bytes).
#[pyfunction]
fn scan<'py>(py: Python<'py>, context: &[u8], text: &str) -> (usize, Bound<'py, PyBytes>) {
    let ctx = Context::decode(context).ok();
    let (n, payload) = scan_with(ctx.as_ref(), text);
    (n, PyBytes::new(py, &payload))
}

/// scan_env(text: str) -> (int, bytes)
///
/// As `scan`, with the context from the environment carrier (PTEL_CONTEXT
/// or TRACEPARENT/TRACESTATE/BAGGAGE), as a subprocess plugin would get it.
#[pyfunction]
fn scan_env<'py>(py: Python<'py>, text: &str) -> (usize, Bound<'py, PyBytes>) {
    let ctx = Context::from_env().ok();
    let (n, payload) = scan_with(ctx.as_ref(), text);
    (n, PyBytes::new(py, &payload))
}

/// The ptel core version the plugin was built with.
#[pyfunction]
fn core_version() -> &'static str {
    ptel::version()
}

/// The Python module.
#[pymodule]
fn ptel_pyo3_plugin(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add_function(wrap_pyfunction!(scan_env, m)?)?;
    m.add_function(wrap_pyfunction!(core_version, m)?)?;
    Ok(())
}
