//! Canonical OTLP/JSON rendering of protobuf messages (PROTOCOL.md,
//! "Canonical OTLP/JSON"), as the core renders it.

use ptel_sys as sys;

use crate::error::{Error, ErrorKind, Result, check_diag};

/// The message types the renderer knows at top level.
///
/// ```
/// assert_ne!(ptel::json::MessageType::Span, ptel::json::MessageType::Metric);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `ptel.v1.PluginTelemetry`
    PluginTelemetry,
    /// `ptel.v1.PluginContext`
    PluginContext,
    /// `ExportTraceServiceRequest` (= `TracesData`)
    TracesData,
    /// `ExportMetricsServiceRequest` (= `MetricsData`)
    MetricsData,
    /// `opentelemetry.proto.trace.v1.Span`
    Span,
    /// `opentelemetry.proto.metrics.v1.Metric`
    Metric,
}

impl MessageType {
    fn to_c(self) -> u32 {
        match self {
            MessageType::PluginTelemetry => sys::PTEL_JSON_PLUGIN_TELEMETRY,
            MessageType::PluginContext => sys::PTEL_JSON_PLUGIN_CONTEXT,
            MessageType::TracesData => sys::PTEL_JSON_TRACES_DATA,
            MessageType::MetricsData => sys::PTEL_JSON_METRICS_DATA,
            MessageType::Span => sys::PTEL_JSON_SPAN,
            MessageType::Metric => sys::PTEL_JSON_METRIC,
        }
    }
}

/// Render the protobuf bytes of a `message` as canonical OTLP/JSON. The
/// input is untrusted: errors ([`ErrorKind::Truncated`],
/// [`ErrorKind::Malformed`], [`ErrorKind::Utf8`], [`ErrorKind::Depth`])
/// carry the byte offset and field number.
///
/// ```
/// use ptel::json::{render, MessageType};
/// # let ctx = ptel::Context::from_w3c("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "")?;
/// let mut rec = ptel::Recorder::new(&ctx);
/// let json = render(MessageType::PluginTelemetry, rec.finish())?;
/// assert_eq!(json, r#"{"protocolVersion":1}"#);
/// assert_eq!(render(MessageType::Span, &[0x0a, 0x05]).unwrap_err().kind(), ptel::ErrorKind::Truncated);
/// # Ok::<(), ptel::Error>(())
/// ```
pub fn render(message: MessageType, data: &[u8]) -> Result<String> {
    let mut diag = sys::ptel_diag::default();
    let mut len = 0usize;
    // SAFETY: data is valid for the call; the size query writes nothing.
    let rc = unsafe {
        sys::ptel_json_render(
            core::ptr::null_mut(),
            0,
            &mut len,
            message.to_c(),
            data.as_ptr(),
            data.len(),
            &mut diag,
        )
    };
    if rc != 0 && rc != sys::PTEL_E_BUFFER_TOO_SMALL {
        return Err(Error::from_diag(rc, &diag));
    }
    let mut buf = vec![0u8; len];
    // SAFETY: buf has len writable bytes.
    let rc = unsafe {
        sys::ptel_json_render(
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
            message.to_c(),
            data.as_ptr(),
            data.len(),
            &mut diag,
        )
    };
    check_diag(rc, &diag)?;
    buf.truncate(len);
    String::from_utf8(buf).map_err(|_| Error::new(ErrorKind::Utf8))
}

/// A double as canonical OTLP/JSON writes it: the shortest round-trip
/// form, spelled as JavaScript does; NaN and the infinities as JSON strings.
///
/// ```
/// use ptel::json::format_double;
/// assert_eq!(format_double(0.1), "0.1");
/// assert_eq!(format_double(1e21), "1e+21");
/// assert_eq!(format_double(-0.0), "-0");
/// assert_eq!(format_double(f64::NAN), "\"NaN\"");
/// ```
pub fn format_double(value: f64) -> String {
    let mut buf = [0u8; 32];
    // SAFETY: buf has the 32 bytes the function requires.
    let n = unsafe { sys::ptel_json_format_double(buf.as_mut_ptr().cast(), value) };
    String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned()
}
