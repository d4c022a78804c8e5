//! The Rust WASM host against the modules of `make wasm` (PTEL_WASM_DIR,
//! default build/wasm of the repository).
use std::path::PathBuf;
use std::process::Command;

use ptel::{ExportOptions, Invocation, Outcome, SpanContext};
use ptel_wasm_host::{HostError, Options, WasmPlugin};

const TEXT: &str =
    "Contact jane.doe@example.com or call 415-555-0132; escalate to ops@example.org.";
const TRACE: [u8; 16] = [
    0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c,
];

fn dir() -> PathBuf {
    std::env::var_os("PTEL_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../build/wasm"))
}

fn plugin(name: &str, opts: Options) -> WasmPlugin {
    let path = dir().join(format!("{name}.wasm"));
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e} (run make wasm)"));
    WasmPlugin::new(&wasm, opts).unwrap()
}

fn begin() -> Invocation {
    Invocation::builder()
        .parent(SpanContext {
            trace_id: TRACE,
            span_id: [0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31],
            trace_flags: 1,
            is_remote: true,
        })
        .plugin("pii", "1.0.0")
        .hook("pre_invoke")
        .begin()
        .unwrap()
}

fn traces(inv: &Invocation) -> String {
    inv.export_traces_json(&ExportOptions::default()).unwrap()
}

fn native(name: &str, ctx: &[u8], input: &str) -> Vec<u8> {
    let tmp = std::env::temp_dir().join(format!("ptel-wasm-rs-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (c, o) = (tmp.join("ctx.bin"), tmp.join("out.bin"));
    std::fs::write(&c, ctx).unwrap();
    let st = Command::new(dir().join("native").join(name))
        .arg("--deterministic")
        .arg(&c)
        .arg(input)
        .arg(&o)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let b = std::fs::read(&o).unwrap();
    std::fs::remove_dir_all(&tmp).ok();
    b
}

#[test]
fn pii_filter_redacts_and_records() {
    let mut p = plugin("pii_filter", Options::default());
    let mut inv = begin();
    let r = p.invoke(&mut inv, TEXT.as_bytes()).unwrap();
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(
        r.output,
        b"Contact ******************** or call ************; escalate to ***************."
    );
    assert_eq!(
        (
            r.report.spans_accepted,
            r.report.metrics_accepted,
            r.report.points_accepted
        ),
        (2, 2, 3)
    );
    let json = traces(&inv);
    for name in ["plugin.execute", "pii_filter.detect", "pii_filter.redact"] {
        assert!(
            json.contains(&format!("\"name\":\"{name}\"")),
            "{name} missing: {json}"
        );
    }
}

#[test]
fn payload_equals_native() {
    let mut p = plugin(
        "pii_filter",
        Options {
            deterministic: true,
            ..Options::default()
        },
    );
    for input in [TEXT, "", "no pii here", "call 0044-20-7946-0958 now"] {
        let mut inv = begin();
        let ctx = inv.context().encode();
        let r = p.invoke(&mut inv, input.as_bytes()).unwrap();
        assert!(!r.payload.is_empty());
        assert_eq!(
            r.payload,
            native("pii_filter", &ctx, input),
            "input {input:?}"
        );
    }
    let mut rl = plugin(
        "rate_limiter",
        Options {
            deterministic: true,
            ..Options::default()
        },
    );
    let mut inv = begin();
    let ctx = inv.context().encode();
    let r = rl.invoke(&mut inv, b"carol").unwrap();
    assert_eq!(r.payload, native("rate_limiter", &ctx, "carol"));
}

#[test]
fn rate_limiter_keeps_state() {
    let mut p = plugin("rate_limiter", Options::default());
    let got: Vec<String> = ["alice", "alice", "bob", "alice", "alice"]
        .iter()
        .map(|k| {
            let mut inv = begin();
            let r = p.invoke(&mut inv, k.as_bytes()).unwrap();
            assert_eq!(r.report.spans_accepted, 1);
            let json = traces(&inv);
            assert!(
                json.contains(&format!(
                    "{{\"key\":\"ratelimit.key\",\"value\":{{\"stringValue\":\"{k}\"}}}}"
                )),
                "{json}"
            );
            String::from_utf8(r.output).unwrap()
        })
        .collect();
    assert_eq!(got, ["allow", "allow", "allow", "allow", "deny"]);
}

#[test]
fn faults_close_the_invocation_and_the_request_continues() {
    let limit = 2 << 20;
    let cases = [
        ("trap", Outcome::Crash, "wasm.trap.unreachable", "crash"),
        ("loop", Outcome::Timeout, "wasm.out_of_fuel", "timeout"),
        ("oom", Outcome::Crash, "wasm.trap.unreachable", "crash"),
        ("oob", Outcome::Crash, "wasm.bad_result", "crash"),
        ("nopayload", Outcome::Crash, "wasm.bad_result", "crash"),
    ];
    let mut p = plugin(
        "faults",
        Options {
            fuel: 2_000_000,
            memory_limit: limit,
            deterministic: false,
        },
    );
    for (mode, outcome, et, name) in cases {
        let mut inv = begin();
        let r = p.invoke(&mut inv, mode.as_bytes()).unwrap();
        assert_eq!(
            (r.outcome, r.error_type.as_str(), r.payload.len()),
            (outcome, et, 0),
            "{mode}"
        );
        assert_eq!(p.memory_size(), 0, "{mode}: faulted instance kept");
        let json = traces(&inv);
        assert!(
            json.contains(&format!(
                "{{\"key\":\"error.type\",\"value\":{{\"stringValue\":\"{et}\"}}}}"
            )),
            "{json}"
        );
        assert!(
            json.contains(&format!(
                "{{\"key\":\"plugin.outcome\",\"value\":{{\"stringValue\":\"{name}\"}}}}"
            )),
            "{json}"
        );
        assert!(json.contains("\"status\":{\"code\":2"), "{json}");
        let mut next = begin();
        let r2 = p.invoke(&mut next, b"ok").unwrap();
        assert_eq!(r2.outcome, Outcome::Ok);
        assert!(!r2.report.rejected);
        assert!(p.memory_size() > 0 && p.memory_size() <= limit);
    }
}

#[test]
fn garbage_payload_is_rejected() {
    let mut p = plugin("faults", Options::default());
    let mut inv = begin();
    let r = p.invoke(&mut inv, b"garbage").unwrap();
    assert_eq!(r.outcome, Outcome::Ok);
    assert!(r.report.rejected);
    assert_eq!(r.report.spans_accepted, 0);
}

#[test]
fn wrong_abi_version_and_missing_exports_are_refused() {
    let v2 = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../go/testdata/abi_v2.wasm"
    ))
    .unwrap();
    match WasmPlugin::new(&v2, Options::default()) {
        Err(HostError::Abi(m)) => assert!(m.contains("version 2"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
    let empty = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    assert!(matches!(
        WasmPlugin::new(&empty, Options::default()),
        Err(HostError::Abi(_))
    ));
}

#[test]
fn negative_guest_status_ends_with_error() {
    let wasm = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../go/testdata/status_neg9.wasm"
    ))
    .unwrap();
    let mut p = WasmPlugin::new(&wasm, Options::default()).unwrap();
    let mut inv = begin();
    let r = p.invoke(&mut inv, b"x").unwrap();
    assert_eq!(
        (r.outcome, r.status, r.error_type.as_str()),
        (Outcome::Error, -9, "ptel.guest_status")
    );
}

/// A plugin that faults with span "work" open: the host salvages what it
/// recorded ("step") and ends "work" with status ERROR and the fault's
/// error.type; the request continues on a fresh instance.
#[test]
fn faults_end_open_spans_with_error() {
    let opts = Options {
        fuel: 5_000_000,
        memory_limit: 2 << 20,
        deterministic: false,
    };
    let mut p = plugin("stuck_plugin", opts);
    for (mode, outcome, et) in [
        ("trap", Outcome::Crash, "wasm.trap.unreachable"),
        ("loop", Outcome::Timeout, "wasm.out_of_fuel"),
        ("oom", Outcome::Crash, "wasm.trap.unreachable"),
    ] {
        let mut inv = begin();
        let r = p.invoke(&mut inv, mode.as_bytes()).unwrap();
        assert_eq!((r.outcome, r.error_type.as_str()), (outcome, et), "{mode}");
        assert!(!r.payload.is_empty() && !r.report.rejected, "{mode}");
        assert_eq!(
            (r.report.spans_accepted, r.report.open_spans),
            (2, 1),
            "{mode}"
        );
        let json = traces(&inv);
        let error = format!("{{\"key\":\"error.type\",\"value\":{{\"stringValue\":\"{et}\"}}}}");
        for name in ["plugin.execute", "work", "step"] {
            assert!(json.contains(&format!("\"name\":\"{name}\"")), "{json}");
        }
        // ERROR with the fault's error.type on the invocation span and on
        // "work", which the host ended; "step" as the plugin recorded it.
        assert_eq!(json.matches(&error).count(), 2, "{json}");
        assert_eq!(json.matches("\"status\":{\"code\":2").count(), 2, "{json}");
        assert!(
            json.contains("{\"key\":\"step.count\",\"value\":{\"intValue\":\"1\"}}"),
            "{json}"
        );
        assert_eq!(p.memory_size(), 0, "{mode}: faulted instance kept");
        let mut next = begin();
        let r2 = p.invoke(&mut next, b"ok").unwrap();
        assert_eq!((r2.outcome, r2.report.open_spans), (Outcome::Ok, 1));
    }
}
