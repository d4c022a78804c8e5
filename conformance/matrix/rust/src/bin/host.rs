//! The matrix host in Rust: begins the fixed invocation, spawns the plugin
//! command given after "--" with the environment carrier, writes the
//! PluginContext frame on its stdin, reads the PluginTelemetry frame from
//! its stdout, ends the invocation and prints the report and the hex of the
//! traces and metrics requests.
//!
//! Usage: host -- PLUGIN-COMMAND [ARGS...]

use std::io::{Read, Write};
use std::process::{Command, ExitCode, Stdio};

use ptel::{Decision, ExportOptions, Invocation, KeyValue, Outcome, SpanContext};
use ptel_matrix::{frame, unframe, CountingIds, ManualClock, MAX_PAYLOAD, TIME_BASE};

const CARRIER: [&str; 4] = ["TRACEPARENT", "TRACESTATE", "BAGGAGE", "PTEL_CONTEXT"];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// The payload, or None when the plugin crashed or broke the framing.
fn run_plugin(cmd: &[String], env: &[(String, String)], request: &[u8]) -> Option<Vec<u8>> {
    let mut command = Command::new(&cmd[0]);
    command.args(&cmd[1..]);
    for name in CARRIER {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request); // a plugin that died early is a crash below
    }
    let mut data = Vec::new();
    let mut stdout = child.stdout.take()?;
    let read = (&mut stdout)
        .take(MAX_PAYLOAD as u64 + 5)
        .read_to_end(&mut data);
    let too_long = data.len() > MAX_PAYLOAD + 4;
    if too_long {
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    }
    drop(stdout);
    let status = child.wait().ok()?;
    if read.is_err() || too_long || !status.success() {
        return None;
    }
    unframe(&data, MAX_PAYLOAD).map(<[u8]>::to_vec)
}

fn run(cmd: &[String]) -> ptel::Result<()> {
    let clock = ManualClock::default();
    let parent = SpanContext {
        trace_id: unhex("0af7651916cd43dd8448eb211c80319c"),
        span_id: unhex("b7ad6b7169203331"),
        trace_flags: 1,
        is_remote: true,
    };
    let mut inv = Invocation::builder()
        .parent(parent)
        .tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        .baggage("tenant=acme,user.tier=gold")
        .decision(Decision::RecordAndSample)
        .plugin("pii_filter", "1.0.0")
        .hook("prompt_pre_fetch")
        .span_id(unhex("a1a2a3a4a5a6a7a8"))
        .start_time(TIME_BASE)
        .remote(true)
        .clock(clock.clone())
        .id_generator(CountingIds(0xee, Default::default()))
        .begin()?;
    let env = inv.context().to_env();
    let request = frame(&inv.context().encode());
    let payload = run_plugin(cmd, &env, &request);
    clock.set(1_000_000);
    let report = match payload {
        Some(p) => inv.end(p, Outcome::Ok, "")?,
        None => inv.end(Vec::new(), Outcome::Crash, "")?,
    };
    let resource = [
        KeyValue::new("service.name", "matrix-host"),
        KeyValue::new("service.version", "1.0.0"),
    ];
    let opts = ExportOptions {
        resource: &resource,
        host_scope_name: "matrix-host",
        host_scope_version: "1.0.0",
        ..Default::default()
    };
    println!("report {}", report.to_json());
    println!("traces {}", hex(&inv.export_traces(&opts)?));
    println!("metrics {}", hex(&inv.export_metrics(&opts)?));
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 || args[1] != "--" {
        eprintln!("usage: host -- PLUGIN-COMMAND [ARGS...]");
        return ExitCode::from(2);
    }
    match run(&args[2..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("host: {e}");
            ExitCode::from(2)
        }
    }
}
