//! Serves the conformance scenarios through the WASM guest ABI under the
//! Rust/wasmtime host (wasm/hosts/python/scenarios_wasm.py drives it and
//! compares): one line in per case, `{"context": ..., "ops_json": "..."}`;
//! the context is built with the Rust binding, encoded, and passed with the
//! ops to scenario_guest.wasm by [`WasmPlugin::call`]; one line out,
//! `{"status", "payload_hex", "output"}`, `{"fault": error.type}` or
//! `{"error": why the host failed}`.
//!
//! ```text
//! scenarios <scenario_guest.wasm>
//! ```
use std::fmt::Write as _;
use std::io::{BufRead, Write};

use ptel::{Context, Decision, Limits, SpanContext};
use ptel_wasm_host::{Called, Options, WasmPlugin};

// The conformance Rust runner's JSON reader (no serde_json in the lock).
#[allow(dead_code)]
#[path = "../../../../../conformance/runners/rust/src/json.rs"]
mod json;
use json::Json;

const DEFAULT_T: u64 = 1_000_000_000_000;

fn text<'a>(o: &'a Json, key: &str) -> &'a str {
    o.get(key).and_then(Json::str).unwrap_or("")
}

fn limits(v: Option<&Json>) -> Result<Limits, String> {
    let mut l = Limits::zero();
    if let Some(Json::Obj(m)) = v {
        for (k, n) in m {
            let n = n
                .u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("limit {k}"))?;
            *match k.as_str() {
                "attribute_count" => &mut l.attribute_count,
                "attribute_value_length" => &mut l.attribute_value_length,
                "attribute_depth" => &mut l.attribute_depth,
                "event_count" => &mut l.event_count,
                "link_count" => &mut l.link_count,
                "attributes_per_event" => &mut l.attributes_per_event,
                "attributes_per_link" => &mut l.attributes_per_link,
                "span_count" => &mut l.span_count,
                "metric_count" => &mut l.metric_count,
                "metric_cardinality" => &mut l.metric_cardinality,
                "payload_bytes" => &mut l.payload_bytes,
                _ => return Err(format!("unknown limit {k}")),
            } = n;
        }
    }
    Ok(l)
}

/// The encoded PluginContext of a scenario (conformance/README.md 3).
fn context_bytes(c: &Json) -> Result<Vec<u8>, String> {
    let tp = ptel::w3c::Traceparent::parse(text(c, "traceparent")).map_err(|e| e.to_string())?;
    let decision = match text(c, "decision") {
        "drop" => Decision::Drop,
        "record_only" => Decision::RecordOnly,
        "record_and_sample" => Decision::RecordAndSample,
        d => return Err(format!("decision {d}")),
    };
    let parent = SpanContext {
        trace_id: tp.trace_id,
        span_id: tp.parent_id,
        trace_flags: tp.trace_flags,
        is_remote: true,
    };
    let base = c
        .get("time_base_unix_nano")
        .and_then(Json::u64)
        .unwrap_or(DEFAULT_T);
    let ctx = Context::builder(parent)
        .tracestate(text(c, "tracestate"))
        .baggage(text(c, "baggage"))
        .decision(decision)
        .limits(limits(c.get("limits"))?)
        .time_base(base)
        .plugin(text(c, "plugin_name"), text(c, "plugin_version"))
        .hook(text(c, "hook"))
        .build()
        .map_err(|e| format!("context: {e}"))?;
    Ok(ctx.encode())
}

fn serve(plugin: &mut WasmPlugin, line: &str) -> String {
    let mut out = String::from("{");
    let req = json::parse(line).and_then(|r| {
        let ctx = context_bytes(r.get("context").ok_or("no context")?)?;
        Ok((ctx, text(&r, "ops_json").to_owned()))
    });
    match req.and_then(|(ctx, ops)| plugin.call(&ctx, ops.as_bytes()).map_err(|e| e.to_string())) {
        Ok(Called::Done {
            status,
            payload,
            output,
        }) => {
            let _ = write!(out, "\"status\":{status},\"payload_hex\":\"");
            for b in &payload {
                let _ = write!(out, "{b:02x}");
            }
            out.push_str("\",\"output\":");
            json::quote(&mut out, &String::from_utf8_lossy(&output));
        }
        Ok(Called::Fault { error_type }) => {
            out.push_str("\"fault\":");
            json::quote(&mut out, &error_type);
        }
        Err(e) => {
            out.push_str("\"error\":");
            json::quote(&mut out, &e);
        }
    }
    out.push('}');
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: scenarios <scenario_guest.wasm>");
        std::process::exit(2);
    }
    let wasm = std::fs::read(&args[1]).unwrap_or_else(|e| {
        eprintln!("{}: {e}", args[1]);
        std::process::exit(1)
    });
    let opts = Options {
        fuel: 2_000_000_000,
        memory_limit: 64 << 20,
        deterministic: false,
    };
    let mut plugin = WasmPlugin::new(&wasm, opts).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap_or_else(|e| {
            eprintln!("stdin: {e}");
            std::process::exit(1)
        });
        if writeln!(out, "{}", serve(&mut plugin, &line))
            .and_then(|()| out.flush())
            .is_err()
        {
            std::process::exit(1);
        }
    }
}
