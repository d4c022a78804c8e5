//! The matrix plugin in Rust: reads one PluginContext frame on stdin,
//! checks it against the environment carrier, records the scenario with a
//! manual clock and counting ids, and writes one PluginTelemetry frame.
//!
//! Usage: plugin [ok|crash|garbage|invalid]

use std::io::{Read, Write};
use std::process::ExitCode;

use ptel::{Context, KeyValue, Recorder, SpanKind, StatusCode};
use ptel_matrix::{frame, unframe, CountingIds, ManualClock};

fn scenario(rec: &Recorder, clock: &ManualClock) {
    let scan = rec
        .span_builder("pii_filter.scan")
        .kind(SpanKind::Internal)
        .start();
    let types: [&str; 2] = ["email", "phone"];
    let digest: [u8; 4] = [0xde, 0xad, 0x00, 0xef];
    let config = [KeyValue::new("mode", "redact"), KeyValue::new("max", 32i64)];
    scan.set_attributes(&[
        KeyValue::new("pii.detector", "pattern"),
        KeyValue::new("pii.input.bytes", 72i64),
        KeyValue::new("pii.ratio", 0.25),
        KeyValue::new("pii.redact", true),
        KeyValue::new("pii.types", &types[..]),
        KeyValue::new("pii.digest", &digest),
        KeyValue::new("pii.config", &config[..]),
    ]);
    clock.set(1000);
    scan.add_event(
        "pii.detected",
        &[
            KeyValue::new("pii.type", "email"),
            KeyValue::new("pii.offset", 8i64),
        ],
    );
    let det = rec
        .i64_counter("pii.detections")
        .with_unit("{detection}")
        .with_description("PII detections by type")
        .build();
    det.add_with_span(2, &[KeyValue::new("pii.type", "email")], Some(&scan));
    clock.set(2000);
    let redact = scan
        .child("pii_filter.redact")
        .kind(SpanKind::Internal)
        .start();
    redact.set_attributes(&[KeyValue::new("pii.redacted.count", 2i64)]);
    clock.set(3000);
    redact.end();
    clock.set(4000);
    scan.set_status(StatusCode::Ok, "");
    scan.end();
    det.add(1, &[KeyValue::new("pii.type", "phone")]);
    let bounds = [0.001, 0.01, 0.1, 1.0];
    let dur = rec
        .f64_histogram("pii.scan.duration")
        .with_unit("s")
        .with_description("Time to scan one input")
        .with_boundaries(&bounds)
        .build();
    dur.record(0.004, &[KeyValue::new("pii.mode", "redact")]);
    clock.set(5000);
}

fn run(mode: &str) -> u8 {
    let mut input = Vec::new();
    if std::io::stdin()
        .take(65541)
        .read_to_end(&mut input)
        .is_err()
    {
        return 2;
    }
    let Some(body) = unframe(&input, 65536) else {
        return 2;
    };
    let (Ok(env_ctx), Ok(ctx)) = (Context::from_env(), Context::decode(body)) else {
        return 3;
    };
    if env_ctx.encode() != ctx.encode() || ctx.encode() != body {
        return 3;
    }
    let mut out = std::io::stdout().lock();
    match mode {
        "crash" => {
            let _ = out.write_all(&[0x40, 0, 0, 0, 0x0a, 0x10]);
            let _ = out.flush();
            return 70;
        }
        "invalid" => {
            let _ = out.write_all(&frame(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
            let _ = out.flush();
            return 0;
        }
        "garbage" => {
            let _ = out.write_all(b"\xff\xff\xff\x7fgarbage");
            let _ = out.flush();
            return 0;
        }
        _ => {}
    }
    let clock = ManualClock::default();
    let Ok(mut rec) = Recorder::builder(&ctx)
        .clock(clock.clone())
        .id_generator(CountingIds::default())
        .build()
    else {
        return 4;
    };
    scenario(&rec, &clock);
    let payload = frame(rec.finish());
    if out.write_all(&payload).and_then(|()| out.flush()).is_err() {
        return 4;
    }
    0
}

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "ok".to_string());
    ExitCode::from(run(&mode))
}
