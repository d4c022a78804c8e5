//! OTLP (prost) values into `opentelemetry` values, and the time and id
//! conversions the span and metric paths share.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::common::v1 as pb;
use opentelemetry_proto::tonic::common::v1::any_value::Value as PbValue;

/// OTLP `SpanFlags`: the parent's remoteness is known / the parent is remote.
pub(crate) const FLAG_HAS_IS_REMOTE: u32 = 0x100;
pub(crate) const FLAG_IS_REMOTE: u32 = 0x200;

/// Unix nanoseconds as a `SystemTime` (the SDK's time type).
pub(crate) fn time(unix_nano: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nano)
}

/// A `SystemTime` as Unix nanoseconds (0 before the epoch, saturating far
/// after it).
pub(crate) fn unix_nano(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Trace id, span id and W3C flags of an OTLP span or link (the flags field
/// also carries the remote bits; validated ids have the right lengths, and
/// anything else becomes the invalid id).
pub(crate) fn span_context(
    trace_id: &[u8],
    span_id: &[u8],
    flags: u32,
    is_remote: bool,
    trace_state: &str,
) -> SpanContext {
    let tid = <[u8; 16]>::try_from(trace_id).map_or(TraceId::INVALID, TraceId::from_bytes);
    let sid = <[u8; 8]>::try_from(span_id).map_or(SpanId::INVALID, SpanId::from_bytes);
    // A tracestate the W3C grammar refuses cannot be held by TraceState: it
    // becomes empty (the host validated only its UTF-8).
    let ts = trace_state.parse::<TraceState>().unwrap_or_default();
    SpanContext::new(
        tid,
        sid,
        TraceFlags::new((flags & 0xff) as u8),
        is_remote,
        ts,
    )
}

/// One OTLP value as an `opentelemetry` value, when that type can hold it:
/// strings, booleans, integers, doubles and arrays of one of those (empty
/// arrays included). Bytes, key-value lists, mixed or nested arrays and the
/// empty value cannot be: `None`.
pub(crate) fn value(v: &pb::AnyValue) -> Option<Value> {
    Some(match v.value.as_ref()? {
        PbValue::StringValue(s) => Value::String(StringValue::from(s.clone())),
        PbValue::BoolValue(b) => Value::Bool(*b),
        PbValue::IntValue(i) => Value::I64(*i),
        PbValue::DoubleValue(d) => Value::F64(*d),
        PbValue::ArrayValue(a) => Value::Array(array(&a.values)?),
        // (A string-table index is a profiles-only form; the host never keeps one.)
        _ => return None,
    })
}

fn array(values: &[pb::AnyValue]) -> Option<Array> {
    // The element type is the first element's; an empty array encodes the
    // same (no values) whichever type holds it.
    let Some(first) = values.first() else {
        return Some(Array::String(Vec::new()));
    };
    fn all<T>(values: &[pb::AnyValue], f: impl Fn(&PbValue) -> Option<T>) -> Option<Vec<T>> {
        values
            .iter()
            .map(|v| v.value.as_ref().and_then(&f))
            .collect()
    }
    Some(match first.value.as_ref()? {
        PbValue::StringValue(_) => Array::String(all(values, |v| match v {
            PbValue::StringValue(s) => Some(StringValue::from(s.clone())),
            _ => None,
        })?),
        PbValue::BoolValue(_) => Array::Bool(all(values, |v| match v {
            PbValue::BoolValue(b) => Some(*b),
            _ => None,
        })?),
        PbValue::IntValue(_) => Array::I64(all(values, |v| match v {
            PbValue::IntValue(i) => Some(*i),
            _ => None,
        })?),
        PbValue::DoubleValue(_) => Array::F64(all(values, |v| match v {
            PbValue::DoubleValue(d) => Some(*d),
            _ => None,
        })?),
        _ => return None,
    })
}

/// Attributes as `opentelemetry` key-values, in order, with how many could
/// not be represented (see [`value`]); the caller counts those as dropped.
pub(crate) fn attributes(kvs: &[pb::KeyValue]) -> (Vec<KeyValue>, u32) {
    let mut out = Vec::with_capacity(kvs.len());
    let mut dropped = 0u32;
    for kv in kvs {
        match kv.value.as_ref().and_then(value) {
            Some(v) => out.push(KeyValue::new(kv.key.clone(), v)),
            None => dropped = dropped.saturating_add(1),
        }
    }
    (out, dropped)
}

/// An OTLP instrumentation scope (with its ScopeSpans/ScopeMetrics schema
/// URL) as an `opentelemetry` scope.
pub(crate) fn scope(
    s: Option<&pb::InstrumentationScope>,
    schema_url: &str,
) -> InstrumentationScope {
    let (name, version, attrs) = match s {
        Some(s) => (
            s.name.clone(),
            s.version.clone(),
            attributes(&s.attributes).0,
        ),
        None => (String::new(), String::new(), Vec::new()),
    };
    let mut b = InstrumentationScope::builder(name).with_attributes(attrs);
    if !version.is_empty() {
        b = b.with_version(version);
    }
    if !schema_url.is_empty() {
        b = b.with_schema_url(schema_url.to_owned());
    }
    b.build()
}
