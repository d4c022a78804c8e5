//! The adapter into `opentelemetry_sdk` (feature `sdk`): the adapter
//! example's flow (examples/adapters/rust) against in-memory exporters,
//! every field of what reaches them compared with ptel's own validated
//! export, plus sampling, rejection, attribute types and metrics per type.
#![cfg(feature = "sdk")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::plugin::{self, pii_filter};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, TracerProvider as _};
use opentelemetry::{KeyValue as OtKv, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1 as pbm;
use opentelemetry_proto::tonic::trace::v1 as pbt;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    Sampler, SdkTracerProvider, SimpleSpanProcessor, SpanData, SpanExporter,
};
use prost::Message;
use ptel::{KeyValue, Outcome, Recorder};

mod common;
/// The adapter example's flow (examples/adapters/rust), run here against
/// in-memory exporters.
#[path = "../../../../examples/adapters/rust/src/flow.rs"]
mod flow;

/// A span exporter that keeps what it is given and the resource the
/// provider set on it.
#[derive(Debug, Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<SpanData>>>,
    resource: Arc<Mutex<Option<Resource>>>,
}

impl SpanExporter for Capture {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }
    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

struct Host {
    traces: SdkTracerProvider,
    meters: SdkMeterProvider,
    capture: Capture,
    metrics: InMemoryMetricExporter,
    adapter: ptel::sdk::Adapter,
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([OtKv::new("service.name", "gateway")])
        .build()
}

fn host(sampler: Sampler) -> Host {
    let spans = ptel::sdk::PluginSpans::new();
    let capture = Capture::default();
    let traces = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_sampler(sampler)
        .with_span_processor(spans.wrap(SimpleSpanProcessor::new(capture.clone())))
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_resource(resource())
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let adapter = ptel::sdk::Adapter::new(traces.tracer("gateway"), spans)
        .with_meter_provider(meters.clone());
    Host {
        traces,
        meters,
        capture,
        metrics,
        adapter,
    }
}

fn decode_traces(inv: &ptel::Invocation) -> Vec<(String, String, pbt::Span)> {
    let bytes = inv.export_traces(&ptel::ExportOptions::default()).unwrap();
    let req = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
    let mut out = Vec::new();
    for ss in req.resource_spans.iter().flat_map(|r| &r.scope_spans) {
        let scope = ss.scope.clone().unwrap_or_default();
        for s in &ss.spans {
            // ptel omits an UNSET status; the SDK's conversion writes an
            // empty one. OTLP reads both as UNSET with no message.
            let mut s = s.clone();
            s.status.get_or_insert_with(Default::default);
            out.push((scope.name.clone(), scope.version.clone(), s));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[test]
fn adapter_flow_reaches_the_host_pipeline_exactly() {
    let h = host(Sampler::AlwaysOn);
    let run = flow::gateway_request(&h.traces.tracer("gateway"), &h.adapter).unwrap();
    let report = &run.report;
    assert_eq!((report.spans_accepted, report.spans_dropped), (2, 0));
    assert_eq!((report.metrics_accepted, report.metrics_dropped), (4, 0));
    let inv_sc = run.invocation.span_context();
    assert_eq!(run.trace_id, hex(&inv_sc.trace_id));
    h.traces.shutdown().unwrap();
    h.meters.force_flush().unwrap();

    // Order: the plugin spans as they ended, the invocation span, the
    // request span.
    let got = h.capture.spans.lock().unwrap().clone();
    let names: Vec<&str> = got.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "pii_filter.redact",
            "pii_filter.scan",
            "plugin.execute",
            "gateway.request"
        ]
    );
    // Every field: each SpanData, converted by opentelemetry-proto as the
    // OTLP exporters do, equals the span ptel validated and would export.
    let want = decode_traces(&run.invocation);
    assert_eq!(want.len(), 3);
    for (data, (scope_name, scope_version, span)) in
        got[..3].iter().zip(&want[1..]).chain([(&got[2], &want[0])])
    {
        if data.name != "plugin.execute" {
            assert_eq!(data.instrumentation_scope.name(), scope_name);
            assert_eq!(
                data.instrumentation_scope.version(),
                Some(scope_version.as_str())
            );
        }
        assert_eq!(pbt::Span::from(data.clone()), *span, "{}", data.name);
    }
    let (redact, scan, invocation, req) = (&got[0], &got[1], &got[2], &got[3]);
    assert_eq!(scan.instrumentation_scope.name(), "pii_filter");
    assert_eq!(scan.instrumentation_scope.version(), Some("1.0.0"));
    assert_eq!(scan.parent_span_id, invocation.span_context.span_id());
    assert_eq!(scan.span_kind, SpanKind::Internal);
    assert_eq!(attr(scan, "pii.count"), Some(Value::I64(2)));
    assert_eq!(redact.parent_span_id, scan.span_context.span_id());
    assert_eq!(redact.events.len(), 1);
    assert_eq!(redact.events[0].name, "pii.detected");
    assert_eq!(
        redact.events[0].attributes,
        [OtKv::new("pii.kind", "email")]
    );
    assert!(scan.span_context.is_sampled() && !scan.parent_span_is_remote);
    assert_eq!(invocation.instrumentation_scope.name(), "gateway");
    assert_eq!(invocation.parent_span_id, req.span_context.span_id());
    assert_eq!(req.span_kind, SpanKind::Server);
    assert_eq!(req.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    assert_eq!(req.span_context.trace_id().to_string(), run.trace_id);
    assert_eq!(invocation.span_context.span_id().to_bytes(), inv_sc.span_id);
    assert_eq!(
        attr(invocation, "plugin.name"),
        Some(Value::from("pii_filter"))
    );
    assert_eq!(
        attr(invocation, "plugin.hook"),
        Some(Value::from("tool_pre_invoke"))
    );
    assert_eq!(attr(invocation, "plugin.outcome"), Some(Value::from("ok")));
    assert_eq!(invocation.status, Status::Unset);
    assert!(scan.start_time >= invocation.start_time && redact.end_time <= invocation.end_time);
    // The host's resource reached the exporter the plugin spans went to.
    let res = h.capture.resource.lock().unwrap().clone().unwrap();
    assert_eq!(
        res.get(&opentelemetry::Key::new("service.name")),
        Some(Value::from("gateway"))
    );
    assert_eq!(
        h.adapter.stats(),
        ptel::sdk::AdapterStats {
            invocations: 1,
            spans_delivered: 2,
            points_recorded: 4,
            ..Default::default()
        }
    );

    // Metrics: every point ptel validated, through the host's instruments.
    let bytes = run.invocation.export_metrics(&Default::default()).unwrap();
    let want = ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
    let want: Vec<&pbm::Metric> = want.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .collect();
    let got = h.metrics.get_finished_metrics().unwrap();
    let got = last(&got);
    assert_eq!(
        got.resource().get(&opentelemetry::Key::new("service.name")),
        Some(Value::from("gateway"))
    );
    let sm: Vec<_> = got.scope_metrics().collect();
    assert_eq!(sm.len(), 1);
    assert_eq!(sm[0].scope().name(), "pii_filter");
    assert_eq!(sm[0].scope().version(), Some("1.0.0"));
    let metrics: BTreeMap<&str, _> = sm[0].metrics().map(|m| (m.name(), m)).collect();
    assert_eq!(metrics.len(), want.len());
    for w in want {
        let m = metrics[w.name.as_str()];
        assert_eq!(
            (m.unit(), m.description()),
            (w.unit.as_str(), w.description.as_str())
        );
        match (&w.data, m.data()) {
            (Some(pbm::metric::Data::Sum(s)), AggregatedMetrics::U64(MetricData::Sum(g))) => {
                assert!(s.is_monotonic && g.is_monotonic());
                let (p, q) = (&s.data_points[0], g.data_points().next().unwrap());
                assert_eq!(
                    p.value,
                    Some(pbm::number_data_point::Value::AsInt(q.value() as i64))
                );
                assert_eq!(q.value(), 2);
                assert_eq!(
                    q.attributes().cloned().collect::<Vec<_>>(),
                    [OtKv::new("pii.kind", "email")]
                );
            }
            (Some(pbm::metric::Data::Sum(s)), AggregatedMetrics::I64(MetricData::Sum(g))) => {
                assert!(!s.is_monotonic && !g.is_monotonic());
                let q = g.data_points().next().unwrap();
                assert_eq!(
                    s.data_points[0].value,
                    Some(pbm::number_data_point::Value::AsInt(q.value()))
                );
                assert_eq!(q.value(), 1);
                assert_eq!(q.attributes().count(), 0);
            }
            (Some(pbm::metric::Data::Gauge(s)), AggregatedMetrics::I64(MetricData::Gauge(g))) => {
                let q = g.data_points().next().unwrap();
                assert_eq!(
                    s.data_points[0].value,
                    Some(pbm::number_data_point::Value::AsInt(q.value()))
                );
                assert_eq!(q.value(), 128);
            }
            (
                Some(pbm::metric::Data::Histogram(s)),
                AggregatedMetrics::F64(MetricData::Histogram(g)),
            ) => {
                let (p, q) = (&s.data_points[0], g.data_points().next().unwrap());
                assert_eq!(q.count(), p.count);
                assert_eq!(Some(q.sum()), p.sum);
                assert_eq!(q.min(), p.min);
                assert_eq!(q.max(), p.max);
                assert_eq!(q.bounds().collect::<Vec<_>>(), p.explicit_bounds);
                assert_eq!(q.bucket_counts().collect::<Vec<_>>(), p.bucket_counts);
                assert_eq!(
                    (q.count(), q.sum(), q.min(), q.max()),
                    (2, 8.5, Some(1.5), Some(7.0))
                );
            }
            (w, g) => panic!("{}: {w:?} became {g:?}", m.name()),
        }
    }
}

fn last(all: &[ResourceMetrics]) -> &ResourceMetrics {
    all.last().expect("an export")
}

/// An invocation with no parent span (the root of a new trace).
fn begin_root(
    adapter: &ptel::sdk::Adapter,
    plugin: &str,
    version: &str,
) -> ptel::sdk::SdkInvocation {
    let builder = ptel::Invocation::builder().plugin(plugin, version);
    adapter
        .begin(&opentelemetry::Context::new(), builder)
        .unwrap()
}

/// The spans the host exported, after a flush of both providers.
fn flushed(h: &Host) -> Vec<SpanData> {
    h.traces.force_flush().unwrap();
    h.meters.force_flush().unwrap();
    h.capture.spans.lock().unwrap().clone()
}

/// The data of each plugin metric in the host's last metric export.
fn with_host_metrics(h: &Host, f: impl FnOnce(&BTreeMap<&str, &AggregatedMetrics>)) {
    let all = h.metrics.get_finished_metrics().unwrap();
    let sm: Vec<_> = last(&all).scope_metrics().collect();
    f(&sm[0].metrics().map(|m| (m.name(), m.data())).collect())
}

#[test]
fn unsampled_invocation_drops_spans_and_keeps_metrics() {
    let h = host(Sampler::AlwaysOff);
    let mut call = begin_root(&h.adapter, "p", "1");
    assert_eq!(call.invocation().context().decision(), ptel::Decision::Drop);
    let ctx = call.invocation().context().to_context().unwrap();
    let report = call.end(pii_filter(&ctx), Outcome::Ok, "").unwrap();
    assert_eq!(report.spans_accepted, 0);
    assert!(flushed(&h).is_empty());
    let stats = h.adapter.stats();
    assert_eq!((stats.spans_delivered, stats.points_recorded), (0, 4));
}

#[test]
fn root_invocation_error_outcome_and_rejected_payload() {
    let h = host(Sampler::AlwaysOn);
    let mut call = begin_root(&h.adapter, "p", "1");
    let report = call
        .end(vec![0xff, 0xff], Outcome::Error, "bad_input")
        .unwrap();
    assert!(report.rejected);
    let got = flushed(&h);
    assert_eq!(got.len(), 1);
    let inv = &got[0];
    assert_eq!(inv.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    // ptel sets ERROR with no message; error.type says why.
    assert_eq!(inv.status, Status::error(""));
    assert_eq!(attr(inv, "error.type"), Some(Value::from("bad_input")));
    assert_eq!(attr(inv, "plugin.outcome"), Some(Value::from("error")));
    let want = decode_traces(call.invocation());
    assert_eq!(pbt::Span::from(inv.clone()), want[0].2);
}

#[test]
fn attribute_values_without_an_sdk_type_are_counted_as_dropped() {
    let h = host(Sampler::AlwaysOn);
    let mut call = begin_root(&h.adapter, "p", "1");
    let ctx = call.invocation().context().to_context().unwrap();
    let mut rec = Recorder::new(&ctx);
    {
        let span = rec.span("s");
        let mixed = [ptel::AttrValue::Int(1), ptel::AttrValue::Str("x")];
        let map = [KeyValue::new("k", 1)];
        span.set_attributes(&[
            KeyValue::new("bytes", ptel::AttrValue::Bytes(b"\x00\x01")),
            KeyValue::new("ints", ptel::AttrValue::IntArray(&[1, 2])),
            KeyValue::new("mixed", ptel::AttrValue::Array(&mixed)),
            KeyValue::new("map", ptel::AttrValue::Map(&map)),
            KeyValue::new("empty", ptel::AttrValue::StrArray(&[])),
            KeyValue::new("ok", true),
        ]);
        span.add_event("e", &[KeyValue::new("b", ptel::AttrValue::Bytes(b"z"))]);
        rec.f64_counter("c")
            .build()
            .add(0.5, &[KeyValue::new("m", ptel::AttrValue::Map(&map))]);
    }
    call.end(rec.finish().to_vec(), Outcome::Ok, "").unwrap();
    let got = flushed(&h);
    let s = &got[0];
    let keys: Vec<&str> = s.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["ints", "empty", "ok"]);
    assert_eq!(attr(s, "ints"), Some(Value::Array(vec![1i64, 2].into())));
    assert_eq!(s.dropped_attributes_count, 3);
    assert_eq!(s.events[0].attributes.len(), 0);
    assert_eq!(s.events[0].dropped_attributes_count, 1);
    // The empty array encodes exactly as ptel's.
    let want = decode_traces(call.invocation());
    let enc = pbt::Span::from(s.clone());
    let empty = |sp: &pbt::Span| sp.attributes.iter().find(|kv| kv.key == "empty").cloned();
    assert_eq!(empty(&enc), empty(&want[1].2));
    let stats = h.adapter.stats();
    assert_eq!((stats.attributes_dropped, stats.points_recorded), (5, 1));
}

#[test]
fn spans_without_a_wrapped_processor_are_counted_undelivered() {
    let provider = SdkTracerProvider::builder().build();
    let adapter = ptel::sdk::Adapter::new(provider.tracer("h"), ptel::sdk::PluginSpans::new());
    let mut call = adapter
        .begin(&opentelemetry::Context::new(), ptel::Invocation::builder())
        .unwrap();
    let ctx = call.invocation().context().to_context().unwrap();
    call.end(pii_filter(&ctx), Outcome::Ok, "").unwrap();
    let s = adapter.stats();
    assert_eq!(
        (s.spans_delivered, s.spans_undelivered, s.points_recorded),
        (0, 2, 0)
    );
}

#[test]
fn a_wrapped_processor_dropped_with_its_provider_leaves_the_hand_off() {
    let spans = ptel::sdk::PluginSpans::new();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(spans.wrap(SimpleSpanProcessor::new(Capture::default())))
        .build();
    assert_eq!(spans.len(), 1);
    provider.shutdown().unwrap();
    drop(provider);
    assert!(spans.is_empty());
}

#[test]
fn links_tracestate_remote_parent_kinds_and_double_metrics() {
    let h = host(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let remote = opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes([7; 16]),
        opentelemetry::trace::SpanId::from_bytes([8; 8]),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        "vendor=abc".parse().unwrap(),
    );
    let cx = opentelemetry::Context::new().with_remote_span_context(remote);
    let mut call = h
        .adapter
        .begin(&cx, ptel::Invocation::builder().plugin("p", "2"))
        .unwrap();
    let ctx = call.invocation().context().to_context().unwrap();
    assert_eq!(ctx.tracestate(), "vendor=abc");
    let mut rec = Recorder::new(&ctx);
    {
        let span = rec
            .span_builder("call")
            .kind(ptel::SpanKind::Client)
            .start();
        let linked = ptel::SpanContext::new([3; 16], [4; 8], 1);
        span.add_link(&linked, "other=1", &[KeyValue::new("why", "retry")]);
        span.set_status(ptel::StatusCode::Error, "upstream down");
        let d = rec
            .f64_histogram("lat")
            .with_unit("s")
            .with_boundaries(&[0.1, 1.0])
            .build();
        for v in [0.05, 0.2, 0.3, 2.0, 0.7] {
            d.record(v, &[]);
        }
        rec.f64_gauge("temp").build().record(-3.25, &[]);
        rec.f64_up_down_counter("level").build().add(-0.5, &[]);
    }
    call.end(rec.finish().to_vec(), Outcome::Ok, "").unwrap();
    let got = flushed(&h);
    assert_eq!(got.len(), 2);
    let want = decode_traces(call.invocation());
    assert_eq!(pbt::Span::from(got[0].clone()), want[1].2);
    assert_eq!(pbt::Span::from(got[1].clone()), want[0].2);
    let (span, inv) = (&got[0], &got[1]);
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::error("upstream down"));
    assert_eq!(span.span_context.trace_state().header(), "vendor=abc");
    assert_eq!(span.links.len(), 1);
    let link = &span.links[0];
    assert_eq!(link.span_context.trace_state().header(), "other=1");
    assert_eq!(link.attributes, [OtKv::new("why", "retry")]);
    assert!(inv.parent_span_is_remote);
    assert_eq!(inv.parent_span_id.to_bytes(), [8; 8]);
    assert_eq!(inv.span_context.trace_id().to_bytes(), [7; 16]);

    with_host_metrics(&h, |m| {
        match m["lat"] {
            AggregatedMetrics::F64(MetricData::Histogram(g)) => {
                let q = g.data_points().next().unwrap();
                assert_eq!(q.bounds().collect::<Vec<_>>(), [0.1, 1.0]);
                assert_eq!(q.bucket_counts().collect::<Vec<_>>(), [1, 3, 1]);
                assert_eq!((q.count(), q.min(), q.max()), (5, Some(0.05), Some(2.0)));
                assert!((q.sum() - 3.25).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        match m["temp"] {
            AggregatedMetrics::F64(MetricData::Gauge(g)) => {
                assert_eq!(g.data_points().next().unwrap().value(), -3.25)
            }
            other => panic!("{other:?}"),
        }
        match m["level"] {
            AggregatedMetrics::F64(MetricData::Sum(g)) => {
                assert!(!g.is_monotonic());
                assert_eq!(g.data_points().next().unwrap().value(), -0.5)
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn deltas_of_many_invocations_add_up_in_the_host_streams() {
    let h = host(Sampler::AlwaysOn);
    for _ in 0..3 {
        let mut call = begin_root(&h.adapter, "pii_filter", "1.0.0");
        let ctx = call.invocation().context().to_context().unwrap();
        call.end(pii_filter(&ctx), Outcome::Ok, "").unwrap();
    }
    flushed(&h);
    with_host_metrics(&h, |m| {
        match m["pii.detections"] {
            AggregatedMetrics::U64(MetricData::Sum(s)) => {
                assert_eq!(s.data_points().next().unwrap().value(), 6)
            }
            other => panic!("{other:?}"),
        }
        match m["pii.scan.duration"] {
            AggregatedMetrics::F64(MetricData::Histogram(g)) => {
                let q = g.data_points().next().unwrap();
                assert_eq!((q.count(), q.sum()), (6, 25.5));
            }
            other => panic!("{other:?}"),
        }
    });
    assert_eq!(h.adapter.stats().points_recorded, 12);
}

#[test]
fn adapter_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ptel::sdk::Adapter>();
    send_sync::<ptel::sdk::SdkInvocation>();
    send_sync::<ptel::sdk::PluginSpans>();
    // One adapter shared by threads that each run an invocation.
    let h = host(Sampler::AlwaysOn);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut call = begin_root(&h.adapter, "pii_filter", "1.0.0");
                let ctx = call.invocation().context().to_context().unwrap();
                call.end(pii_filter(&ctx), Outcome::Ok, "").unwrap();
            });
        }
    });
    assert_eq!(flushed(&h).len(), 12);
    assert_eq!(h.adapter.stats().spans_delivered, 8);
}
