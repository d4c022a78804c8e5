//! Fixtures shared by the integration tests: the deterministic clock and id
//! generator of core/tests/recorder_fixture.h, the standard context, and a
//! PluginTelemetry walker that decodes the OTLP parts with the official
//! opentelemetry-proto (prost) types.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

pub const TIME_BASE: u64 = 1_000_000_000_000;
pub const TRACE_ID: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
pub const PARENT_ID: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Fake monotonic time shared between a test and its clock.
#[derive(Clone, Default)]
pub struct Mono(pub Arc<AtomicU64>);

impl Mono {
    pub fn set(&self, ns: u64) {
        self.0.store(ns, Ordering::Relaxed)
    }
}

/// realtime = 1e12 + monotonic, as fx_real in the C fixture.
pub struct FakeClock(pub Mono);

impl ptel::Clock for FakeClock {
    fn monotonic_ns(&self) -> u64 {
        (self.0).0.load(Ordering::Relaxed)
    }
    fn realtime_ns(&self) -> u64 {
        TIME_BASE + (self.0).0.load(Ordering::Relaxed)
    }
}

/// Ids all zero except the last byte, a counter starting at 1 (fx_ids).
#[derive(Default)]
pub struct CountingIds(pub AtomicU8);

impl ptel::IdGenerator for CountingIds {
    fn fill(&self, out: &mut [u8]) {
        out.fill(0);
        if let Some(last) = out.last_mut() {
            *last = self.0.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        }
    }
}

pub fn id8(n: u8) -> [u8; 8] {
    let mut id = [0; 8];
    id[7] = n;
    id
}

/// The fixture context: standard ids, sampled iff RECORD_AND_SAMPLE, remote,
/// time base 1e12, plugin "pii_filter".
pub fn context(decision: ptel::Decision, limits: ptel::Limits) -> ptel::Context {
    let flags = u8::from(decision == ptel::Decision::RecordAndSample);
    let parent = ptel::SpanContext {
        trace_id: TRACE_ID,
        span_id: PARENT_ID,
        trace_flags: flags,
        is_remote: true,
    };
    ptel::Context::builder(parent)
        .decision(decision)
        .limits(limits)
        .time_base(TIME_BASE)
        .plugin("pii_filter", "")
        .build()
        .expect("fixture context")
}

/// A recorder with the fake clock and counting ids; returns the clock handle.
pub fn recorder(ctx: &ptel::Context, strict: bool) -> (ptel::Recorder, Mono) {
    let mono = Mono::default();
    let rec = ptel::Recorder::builder(ctx)
        .clock(FakeClock(mono.clone()))
        .id_generator(CountingIds::default())
        .strict(strict)
        .build()
        .expect("fixture recorder");
    (rec, mono)
}

pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../core/tests/golden")
        .join(format!("{name}.bin"))
}

pub fn golden(name: &str) -> Vec<u8> {
    std::fs::read(golden_path(name))
        .unwrap_or_else(|e| panic!("{}: {e}", golden_path(name).display()))
}

/// ptel.v1.DropCounts
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drops {
    pub spans: u64,
    pub metrics: u64,
    pub metric_points: u64,
    pub errors: u64,
}

/// ptel.v1.PluginTelemetry with its OTLP parts decoded by prost.
#[derive(Debug, Default)]
pub struct Telemetry {
    pub protocol_version: u64,
    pub spans: Vec<Span>,
    pub metrics: Vec<Metric>,
    pub open_spans: Vec<Span>,
    pub dropped: Drops,
    pub unknown_fields: Vec<u32>,
}

fn varint(buf: &mut &[u8]) -> Result<u64, String> {
    prost::encoding::decode_varint(buf).map_err(|e| e.to_string())
}

/// One field: (number, wire type, LEN/fixed bytes, varint value).
pub type Field = (u32, u8, Vec<u8>, u64);

/// Split a message into its fields.
pub fn walk(mut buf: &[u8]) -> Result<Vec<Field>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let field = u32::try_from(key >> 3).map_err(|_| "field number")?;
        let wt = (key & 7) as u8;
        match wt {
            0 => {
                let v = varint(&mut buf)?;
                out.push((field, wt, Vec::new(), v));
            }
            1 | 5 => {
                let n = if wt == 1 { 8 } else { 4 };
                if buf.len() < n {
                    return Err("truncated fixed".into());
                }
                out.push((field, wt, buf[..n].to_vec(), 0));
                buf = &buf[n..];
            }
            2 => {
                let n = usize::try_from(varint(&mut buf)?).map_err(|_| "length")?;
                if buf.len() < n {
                    return Err("truncated length".into());
                }
                out.push((field, wt, buf[..n].to_vec(), 0));
                buf = &buf[n..];
            }
            _ => return Err(format!("wire type {wt}")),
        }
    }
    Ok(out)
}

pub fn decode_telemetry(bytes: &[u8]) -> Telemetry {
    let mut t = Telemetry::default();
    for (field, wt, body, v) in walk(bytes).expect("PluginTelemetry wire") {
        match (field, wt) {
            (1, 0) => t.protocol_version = v,
            (2, 2) => t.spans.push(Span::decode(&body[..]).expect("Span")),
            (3, 2) => t.metrics.push(Metric::decode(&body[..]).expect("Metric")),
            (4, 2) => t
                .open_spans
                .push(Span::decode(&body[..]).expect("open Span")),
            (5, 2) => {
                for (f, wt, _, v) in walk(&body).expect("DropCounts wire") {
                    assert_eq!(wt, 0);
                    match f {
                        1 => t.dropped.spans = v,
                        2 => t.dropped.metrics = v,
                        3 => t.dropped.metric_points = v,
                        4 => t.dropped.errors = v,
                        _ => {}
                    }
                }
            }
            (f, _) => t.unknown_fields.push(f),
        }
    }
    t
}

pub fn str_attr(kv: &opentelemetry_proto::tonic::common::v1::KeyValue) -> (&str, &str) {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => (kv.key.as_str(), s.as_str()),
        other => panic!("{}: not a string: {other:?}", kv.key),
    }
}

pub fn int_attr(kv: &opentelemetry_proto::tonic::common::v1::KeyValue) -> (&str, i64) {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::IntValue(i)) => (kv.key.as_str(), *i),
        other => panic!("{}: not an int: {other:?}", kv.key),
    }
}

/// The adapter example's plugin (`pii_filter`, contract item 2 of issue 7):
/// the same file, so the tests record exactly its workload.
#[path = "../../../../../examples/adapters/rust/src/plugin.rs"]
pub mod plugin;
