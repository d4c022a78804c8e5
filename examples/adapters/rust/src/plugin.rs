//! The example's plugin, recorded in process with ptel's own recorder. The
//! ptel crate's tests use it too (bindings/rust/ptel/tests/common).

/// The plugin `pii_filter` 1.0.0 at hook `tool_pre_invoke`, in process with
/// ptel's own recorder: returns its PluginTelemetry bytes.
pub fn pii_filter(ctx: &ptel::Context) -> Vec<u8> {
    let mut rec = ptel::Recorder::new(ctx);
    {
        let detections = rec
            .i64_counter("pii.detections")
            .with_unit("{detection}")
            .build();
        let inflight = rec
            .i64_up_down_counter("pii.inflight")
            .with_unit("{request}")
            .build();
        let buffer = rec.i64_gauge("pii.buffer.size").with_unit("By").build();
        let duration = rec
            .f64_histogram("pii.scan.duration")
            .with_unit("ms")
            .build();
        let scan = rec.span("pii_filter.scan");
        scan.set_attribute("pii.count", 2);
        {
            let redact = scan.child("pii_filter.redact").start();
            redact.add_event("pii.detected", &[ptel::KeyValue::new("pii.kind", "email")]);
        }
        detections.add(2, &[ptel::KeyValue::new("pii.kind", "email")]);
        inflight.add(1, &[]);
        buffer.record(128, &[]);
        duration.record(1.5, &[]);
        duration.record(7.0, &[]);
    }
    rec.finish().to_vec()
}
