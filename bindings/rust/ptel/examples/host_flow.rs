//! A host and a plugin in one process: begin an invocation, let the plugin
//! record under the context it is handed, validate its payload, and print
//! the OTLP/JSON export and the validation report.
//!
//! `cargo run -p ptel --example host_flow`
use ptel::{ExportOptions, Invocation, KeyValue, Outcome, Recorder};

fn main() -> Result<(), ptel::Error> {
    let mut inv = Invocation::builder()
        .plugin("pii_filter", "1.0.0")
        .hook("tool_pre_invoke")
        .attributes(&[KeyValue::new("plugin.mode", "enforce")])
        .begin()?;
    // The plugin side normally runs elsewhere and gets these bytes.
    let context_bytes = inv.context().encode();
    let payload = {
        let ctx = ptel::Context::decode(&context_bytes)?;
        let mut rec = Recorder::new(&ctx);
        {
            let span = rec.span("pii.scan");
            span.set_attribute("bytes", 42);
            rec.i64_counter("pii.detections")
                .with_unit("{detection}")
                .build()
                .add(2, &[("pii.type", "email").into()]);
        }
        rec.finish().to_vec()
    };
    let report = inv.end(payload, Outcome::Ok, "")?;
    println!("report  {}", report.to_json());
    let resource = [KeyValue::new("service.name", "demo-host")];
    let opts = ExportOptions {
        resource: &resource,
        ..Default::default()
    };
    println!("traces  {}", inv.export_traces_json(&opts)?);
    println!("metrics {}", inv.export_metrics_json(&opts)?);
    Ok(())
}
