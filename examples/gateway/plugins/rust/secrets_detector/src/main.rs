//! The gateway demo's secrets detector: a subprocess plugin
//! (examples/gateway/README.md, "Subprocess plugins").
//!
//! Context from the environment (PTEL_CONTEXT, else TRACEPARENT), the
//! request as one JSON object on stdin, one JSON object on stdout: the
//! decision ("block" when the tool arguments hold a credential) and the
//! PluginTelemetry bytes in base64. The secret itself never leaves the
//! plugin: spans and events carry its type and offset only.
mod scan;

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use base64::Engine;
use ptel::{Context, KeyValue, Recorder};
use scan::{Finding, RULES, find_all};

/// Run the rules over `text` under `rec`; returns the findings.
fn detect(rec: &Recorder, text: &str) -> Vec<Finding> {
    let started = Instant::now();
    let detections = rec
        .i64_counter("secrets.detections")
        .with_unit("{detection}")
        .with_description("Credentials found, by type")
        .build();
    let requests = rec
        .i64_counter("secrets.requests")
        .with_unit("{request}")
        .with_description("Requests scanned, by action")
        .build();
    let duration = rec
        .f64_histogram("secrets.scan.duration")
        .with_unit("ms")
        .with_description("Time to scan one request")
        .build();

    let span = rec.span("secrets_detector.scan");
    span.set_attributes(&[
        KeyValue::new("secrets.rules", RULES.len() as i64),
        KeyValue::new("secrets.input.bytes", text.len() as i64),
    ]);
    let mut findings = Vec::new();
    for rule in RULES {
        let child = span.child("secrets_detector.rule").start();
        let found = find_all(rule, text);
        child.set_attributes(&[
            KeyValue::new("secrets.rule", rule.name),
            KeyValue::new("secrets.matches", found.len() as i64),
        ]);
        for f in &found {
            // Type and position only: telemetry must not leak the secret.
            span.add_event(
                "secret.detected",
                &[
                    KeyValue::new("secret.type", f.kind),
                    KeyValue::new("secret.offset", f.offset as i64),
                    KeyValue::new("secret.length", f.len as i64),
                ],
            );
            detections.add(1, &[KeyValue::new("secret.type", f.kind)]);
        }
        child.end();
        findings.extend(found);
    }
    let action = if findings.is_empty() {
        "allow"
    } else {
        "block"
    };
    span.set_attributes(&[
        KeyValue::new("secrets.found", findings.len() as i64),
        KeyValue::new("secrets.action", action),
    ]);
    requests.add(1, &[KeyValue::new("secrets.action", action)]);
    duration.record(started.elapsed().as_secs_f64() * 1e3, &[]);
    span.end();
    findings
}

fn run() -> Result<serde_json::Value, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("stdin: {e}"))?;
    let request: serde_json::Value =
        serde_json::from_str(&input).map_err(|e| format!("request: {e}"))?;
    let text = request["arguments"]["text"].as_str().unwrap_or("");
    // Without a context the detector still protects the request; it
    // returns no telemetry.
    let ctx = Context::from_env();
    if let Err(e) = &ctx {
        eprintln!("secrets_detector: no telemetry: {e}");
    }
    let (findings, telemetry) = match &ctx {
        Ok(ctx) => {
            let mut rec = Recorder::new(ctx);
            let findings = detect(&rec, text);
            let payload = base64::engine::general_purpose::STANDARD.encode(rec.finish());
            (findings, payload)
        }
        Err(_) => (scan::find_any(text), String::new()),
    };
    let mut response = serde_json::json!({"action": "allow", "telemetry": telemetry});
    if let Some(first) = findings.first() {
        response["action"] = "block".into();
        response["reason"] = format!("{} found in the tool arguments", first.kind).into();
    }
    Ok(response)
}

fn main() -> ExitCode {
    match run() {
        Ok(response) => {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{response}")
                .and_then(|_| out.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("secrets_detector: {e}");
            ExitCode::FAILURE
        }
    }
}
