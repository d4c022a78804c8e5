//! `make bench-wasm`: the per-invocation cost of the WASM boundary with the
//! Rust host (wasmtime), as wasm/hosts/python/bench_wasm.py measures it for
//! Python: `host only` begins and ends an invocation with an empty payload
//! and runs no plugin; `wasm null` runs a guest that records nothing, so the
//! difference is the boundary (context into guest memory, the guest
//! decoding it and resetting and finishing its recorder, the payload back
//! out, the fuel reset); `wasm pii` runs the PII filter. Build with
//! `--release`.
use std::path::PathBuf;
use std::time::Instant;

use ptel::{Invocation, Outcome, SpanContext};
use ptel_wasm_host::{Options, WasmPlugin};

const TEXT: &[u8] =
    b"Contact jane.doe@example.com or call 415-555-0132; escalate to ops@example.org.";

fn begin() -> Invocation {
    Invocation::builder()
        .parent(SpanContext {
            trace_id: [
                0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80,
                0x31, 0x9c,
            ],
            span_id: [0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31],
            trace_flags: 1,
            is_remote: true,
        })
        .plugin("p", "")
        .begin()
        .expect("begin")
}

/// Best of five rounds of `n` calls, in µs per call.
fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    (0..n / 10).for_each(|_| f());
    (0..5)
        .map(|_| {
            let t = Instant::now();
            (0..n).for_each(|_| f());
            t.elapsed().as_secs_f64() / f64::from(n) * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

fn load(dir: &std::path::Path, name: &str) -> WasmPlugin {
    let wasm = std::fs::read(dir.join(name)).expect("make wasm first");
    WasmPlugin::new(&wasm, Options::default()).expect("load")
}

fn main() {
    let dir = std::env::var_os("PTEL_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../build/wasm"));
    let n = std::env::var("PTEL_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut null = load(&dir, "null_plugin.wasm");
    let mut pii = load(&dir, "pii_filter.wasm");
    let base = per_call(n, || {
        begin().end(Vec::new(), Outcome::Ok, "").expect("end");
    });
    let run = |p: &mut WasmPlugin, input: &[u8]| {
        let r = p.invoke(&mut begin(), input).expect("invoke");
        assert_eq!(r.outcome, Outcome::Ok);
    };
    let wn = per_call(n, || run(&mut null, b""));
    let wp = per_call(n, || run(&mut pii, TEXT));
    println!("rust host only (begin+end, no plugin): {base:8.2} us/invocation");
    println!("rust wasm null plugin:                 {wn:8.2} us/invocation");
    println!("rust wasm pii_filter plugin:           {wp:8.2} us/invocation");
    println!(
        "rust WASM boundary overhead (null - host only): {:.2} us/invocation",
        wn - base
    );
}
