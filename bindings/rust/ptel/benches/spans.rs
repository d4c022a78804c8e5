//! The span workload of the ptel benchmarks, through the Rust binding and
//! through opentelemetry_sdk with its OTLP/prost encoding, in one run:
//! a span with 10 attributes, one event with 2 attributes, an ERROR status.
//!
//! * `ptel`: a warm recorder (reset between invocations of 64 spans, as a
//!   plugin's recorder is reused), the payload encoded by `finish`.
//! * `sdk`: opentelemetry_sdk with a span processor that converts each
//!   ended span with opentelemetry-proto and prost-encodes it into a reused
//!   buffer (the work an OTLP exporter does per span, without the network).
//! * `disabled`: the same calls under a DROP decision.
//!
//! Allocations are counted by a counting global allocator; the core
//! allocates through Rust's allocator, so its memory is counted too.
//! `cargo bench -p ptel --bench spans` (or `make bench-rust`); the last line
//! is JSON for scripts. BENCH_SECONDS sets the time per round (default 0.5).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue as OtKeyValue;
use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanProcessor};
use ptel::{Context, KeyValue, Recorder, StatusCode};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BATCH: usize = 64;
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn ptel_span(rec: &Recorder, i: i64) {
    let s = rec.span("pii.scan");
    s.set_attributes(&[
        KeyValue::new("plugin.request.id", i),
        KeyValue::new("pii.type", "email"),
        KeyValue::new("pii.count", 3),
        KeyValue::new("pii.redacted", true),
        KeyValue::new("input.bytes", 4096),
        KeyValue::new("ratio", 0.75),
        KeyValue::new("lang", "en"),
        KeyValue::new("tenant", "acme"),
        KeyValue::new("model", "small"),
        KeyValue::new("attempt", 1),
    ]);
    s.add_event(
        "pii.detected",
        &[
            KeyValue::new("pii.type", "email"),
            KeyValue::new("pii.offset", 8),
        ],
    );
    s.set_status(StatusCode::Error, "boom");
}

/// The disabled path on its own (kept out of line so it can be inspected).
#[inline(never)]
fn ptel_disabled_span(rec: &Recorder) {
    let s = rec.span("pii.scan");
    s.set_status(StatusCode::Ok, "");
}

fn sdk_span(tracer: &opentelemetry_sdk::trace::SdkTracer, i: i64) {
    let mut s = tracer
        .span_builder("pii.scan")
        .with_attributes([
            OtKeyValue::new("plugin.request.id", i),
            OtKeyValue::new("pii.type", "email"),
            OtKeyValue::new("pii.count", 3),
            OtKeyValue::new("pii.redacted", true),
            OtKeyValue::new("input.bytes", 4096),
            OtKeyValue::new("ratio", 0.75),
            OtKeyValue::new("lang", "en"),
            OtKeyValue::new("tenant", "acme"),
            OtKeyValue::new("model", "small"),
            OtKeyValue::new("attempt", 1),
        ])
        .start(tracer);
    s.add_event(
        "pii.detected",
        vec![
            OtKeyValue::new("pii.type", "email"),
            OtKeyValue::new("pii.offset", 8),
        ],
    );
    s.set_status(Status::error("boom"));
    s.end();
}

/// Converts every ended span to its OTLP proto and encodes it (as
/// `ScopeSpans.spans`, field 2) into a reused buffer.
#[derive(Debug, Default)]
struct EncodeProcessor {
    out: Mutex<Vec<u8>>,
}

impl SpanProcessor for EncodeProcessor {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        let proto = opentelemetry_proto::tonic::trace::v1::Span::from(span);
        if let Ok(mut out) = self.out.lock() {
            prost::encoding::message::encode(2, &proto, &mut *out);
            if out.len() > (1 << 20) {
                out.clear();
            }
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Measure {
    ns_per_span: f64,
    allocs_per_span: f64,
}

type Workload<'a> = (&'static str, Box<dyn FnMut(usize) + 'a>);

/// Best of 7 rounds per workload; the rounds of all workloads are
/// interleaved so that background load hits them alike. Each round runs
/// about `seconds`.
fn measure_all(seconds: f64, workloads: &mut [Workload<'_>]) -> Vec<Measure> {
    let mut iters = Vec::new();
    for (_, run) in workloads.iter_mut() {
        // Warm-up, and an estimate of the speed.
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed().as_secs_f64() < seconds / 4.0 {
            run(BATCH * 16);
            n += BATCH * 16;
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        iters.push((((seconds / per) as usize).max(BATCH * 16)) / BATCH * BATCH);
    }
    let mut best = vec![
        Measure {
            ns_per_span: f64::MAX,
            allocs_per_span: f64::MAX
        };
        workloads.len()
    ];
    for _ in 0..7 {
        for (k, (_, run)) in workloads.iter_mut().enumerate() {
            let a0 = ALLOCATIONS.load(Ordering::Relaxed);
            let t = Instant::now();
            run(iters[k]);
            let el = t.elapsed().as_secs_f64();
            let a = ALLOCATIONS.load(Ordering::Relaxed) - a0;
            best[k].ns_per_span = best[k].ns_per_span.min(el * 1e9 / iters[k] as f64);
            best[k].allocs_per_span = best[k].allocs_per_span.min(a as f64 / iters[k] as f64);
        }
    }
    best
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs it briefly.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("BENCH_QUICK").is_some();
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.02 } else { 0.5 });

    let ctx = Context::from_w3c(TRACEPARENT, "", "").unwrap();
    let mut rec = Recorder::new(&ctx);
    let payload_bytes = std::cell::Cell::new(0usize);
    let dropped = Context::from_w3c(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        "",
        "",
    )
    .unwrap();
    let off = Recorder::new(&dropped);
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_span_processor(EncodeProcessor::default())
        .build();
    let tracer = provider.tracer("bench");

    let mut workloads: Vec<Workload<'_>> = vec![
        (
            "ptel",
            Box::new(|n| {
                let mut i = 0;
                while i < n {
                    for k in 0..BATCH {
                        ptel_span(&rec, (i + k) as i64);
                    }
                    payload_bytes.set(black_box(rec.finish()).len());
                    rec.reset(&ctx);
                    i += BATCH;
                }
            }),
        ),
        (
            "sdk",
            Box::new(|n| {
                for i in 0..n {
                    sdk_span(&tracer, i as i64);
                }
            }),
        ),
        (
            "disabled",
            Box::new(|n| {
                for i in 0..n {
                    ptel_span(black_box(&off), i as i64);
                }
            }),
        ),
        (
            "disabled_start_end",
            Box::new(|n| {
                for _ in 0..n {
                    ptel_disabled_span(black_box(&off));
                }
            }),
        ),
        (
            "disabled_guarded",
            Box::new(|n| {
                for i in 0..n {
                    let s = black_box(&off).span("pii.scan");
                    if s.is_recording() {
                        ptel_span(&off, i as i64);
                    }
                }
            }),
        ),
    ];
    let m = measure_all(seconds, &mut workloads);
    drop(workloads);
    let _ = provider.shutdown();
    let payload_bytes = payload_bytes.get();
    let (ptel, sdk, disabled, disabled_start_end, disabled_guarded) =
        (m[0], m[1], m[2], m[3], m[4]);

    let ratio = ptel.ns_per_span / sdk.ns_per_span;
    println!(
        "rust span workload (10 attributes, 1 event with 2 attributes, status), best of 7 interleaved rounds:"
    );
    println!(
        "  ptel recorder      {:8.1} ns/span  {:6.2} allocs/span  ({} B payload per {BATCH} spans)",
        ptel.ns_per_span, ptel.allocs_per_span, payload_bytes
    );
    println!(
        "  opentelemetry_sdk  {:8.1} ns/span  {:6.2} allocs/span  (+ opentelemetry-proto, prost)",
        sdk.ns_per_span, sdk.allocs_per_span
    );
    println!(
        "  disabled (DROP)    {:8.1} ns/span  {:6.2} allocs/span",
        disabled.ns_per_span, disabled.allocs_per_span
    );
    println!(
        "  disabled start+end {:8.1} ns/span  (span, status, end)",
        disabled_start_end.ns_per_span
    );
    println!(
        "  disabled, guarded  {:8.1} ns/span  (if span.is_recording() {{ ... }})",
        disabled_guarded.ns_per_span
    );
    println!("  ptel / sdk time    {ratio:8.3}  (target <= 0.6)");
    println!(
        "{{\"bench\":\"rust_spans\",\"ptel_ns\":{:.1},\"ptel_allocs\":{:.3},\"sdk_ns\":{:.1},\"sdk_allocs\":{:.3},\"disabled_ns\":{:.2},\"disabled_start_end_ns\":{:.2},\"disabled_guarded_ns\":{:.2},\"ratio\":{:.3}}}",
        ptel.ns_per_span,
        ptel.allocs_per_span,
        sdk.ns_per_span,
        sdk.allocs_per_span,
        disabled.ns_per_span,
        disabled_start_end.ns_per_span,
        disabled_guarded.ns_per_span,
        ratio
    );
}
