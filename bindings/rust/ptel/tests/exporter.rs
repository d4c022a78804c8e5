//! `ptel::Exporter`, the core's built-in exporters: memory and JSON lines
//! byte for byte against the invocation's own export, OTLP/HTTP against a
//! loopback receiver, options from the environment, errors and stats.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value as Num};
use prost::Message;
use ptel::{
    Compression, DropReason, ErrorKind, Exporter, ExporterKind, ExporterOptions, KeyValue, Outcome,
    Signal, TemporalityPreference,
};

mod common;

const SECOND: Duration = Duration::from_secs(1);

fn options(kind: ExporterKind) -> ExporterOptions<'static> {
    let mut o = ExporterOptions::default();
    o.kind = kind;
    o.service_name = "gateway".into();
    o
}

/// One ended invocation of the pii_filter workload.
fn invocation() -> ptel::Invocation {
    let mut inv = ptel::Invocation::builder()
        .plugin("pii_filter", "1.0.0")
        .hook("tool_pre_invoke")
        .begin()
        .unwrap();
    let ctx = inv.context().to_context().unwrap();
    let report = inv
        .end(common::plugin::pii_filter(&ctx), Outcome::Ok, "")
        .unwrap();
    assert_eq!(report.spans_accepted, 2);
    inv
}

fn gateway_resource() -> [KeyValue<'static>; 1] {
    [KeyValue::new("service.name", "gateway")]
}

/// Sum and gauge values of the plugin scope's metrics, by name.
fn plugin_values(req: &[u8]) -> BTreeMap<String, f64> {
    let req = ExportMetricsServiceRequest::decode(req).unwrap();
    let mut out = BTreeMap::new();
    for sm in req.resource_metrics.iter().flat_map(|r| &r.scope_metrics) {
        if sm.scope.as_ref().unwrap().name != "pii_filter" {
            continue;
        }
        for m in &sm.metrics {
            let v = match m.data.as_ref().unwrap() {
                Data::Sum(s) => num(&s.data_points[0].value),
                Data::Gauge(g) => num(&g.data_points[0].value),
                Data::Histogram(h) => h.data_points[0].sum.unwrap(),
                other => panic!("{other:?}"),
            };
            out.insert(m.name.clone(), v);
        }
    }
    out
}

fn num(v: &Option<Num>) -> f64 {
    match v {
        Some(Num::AsInt(i)) => *i as f64,
        Some(Num::AsDouble(d)) => *d,
        None => panic!("no value"),
    }
}

fn scope_names(req: &[u8]) -> Vec<String> {
    let req = ExportMetricsServiceRequest::decode(req).unwrap();
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .map(|s| s.scope.as_ref().unwrap().name.clone())
        .collect()
}

#[test]
fn memory_exporter_keeps_the_invocation_export_byte_for_byte() {
    let exporter = Exporter::new(&options(ExporterKind::Memory)).unwrap();
    let inv = invocation();
    exporter.submit(&inv).unwrap();
    exporter.submit(&inv).unwrap();
    exporter.flush(SECOND).unwrap();
    let resource = gateway_resource();
    let want = inv
        .export_traces(&ptel::ExportOptions {
            resource: &resource,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        exporter.memory_requests(Signal::Traces),
        [want.clone(), want]
    );
    // One metric cycle (the flush): the plugin's streams, cumulative over
    // both invocations, then the exporter's self-telemetry.
    let metrics = exporter.memory_requests(Signal::Metrics);
    assert_eq!(metrics.len(), 1);
    assert_eq!(scope_names(&metrics[0]), ["pii_filter", "ptel"]);
    let values = plugin_values(&metrics[0]);
    assert_eq!(values["pii.detections"], 4.0);
    assert_eq!(values["pii.inflight"], 2.0);
    assert_eq!(values["pii.buffer.size"], 128.0);
    assert_eq!(values["pii.scan.duration"], 17.0);
    let s = exporter.stats();
    assert_eq!(s.invocations, 2);
    assert_eq!(
        (s.traces.requests_submitted, s.traces.items_submitted),
        (2, 6)
    );
    assert_eq!((s.traces.items_sent, s.traces.dropped_total()), (6, 0));
    assert_eq!(s.metrics.dropped_total(), 0);
    assert!(s.metrics.items_sent >= 4);
    assert!(s.to_json().starts_with("{\"invocations\":2"));
    exporter.shutdown(SECOND).unwrap();
}

#[test]
fn options_shape_what_the_exporter_writes() {
    let extra = [KeyValue::new("deployment.environment", "test")];
    let mut o = options(ExporterKind::Memory);
    o.include_invocation_span = false;
    o.self_telemetry = false;
    o.temporality = TemporalityPreference::Delta;
    o.resource_attributes = "team=core,service.name=ignored".into();
    o.resource = &extra;
    let mut exporter = Exporter::new(&o).unwrap();
    let inv = invocation();
    exporter.submit(&inv).unwrap();
    exporter.flush(SECOND).unwrap();
    let traces = exporter.memory_requests(Signal::Traces);
    let req = ExportTraceServiceRequest::decode(traces[0].as_slice()).unwrap();
    let rs = &req.resource_spans[0];
    let attrs: Vec<(String, String)> = rs
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValue::StringValue(s)) => (kv.key.clone(), s.clone()),
                other => panic!("{other:?}"),
            },
        )
        .collect();
    let want = [
        ("team", "core"),
        ("service.name", "gateway"),
        ("deployment.environment", "test"),
    ];
    assert_eq!(attrs, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
    // Without the invocation span: only the plugin's scope and spans.
    assert_eq!(rs.scope_spans.len(), 1);
    assert_eq!(rs.scope_spans[0].spans.len(), 2);
    // No self-telemetry was asked for. Delta: a second cycle with no new
    // data carries only what delta keeps cumulative (the up-down counter)
    // and the gauge.
    let metrics = exporter.memory_requests(Signal::Metrics);
    assert_eq!(scope_names(&metrics[0]), ["pii_filter"]);
    assert_eq!(plugin_values(&metrics[0]).len(), 4);
    exporter.memory_clear();
    assert!(exporter.memory_requests(Signal::Traces).is_empty());
    exporter.flush(SECOND).unwrap();
    let metrics = exporter.memory_requests(Signal::Metrics);
    let names: Vec<String> = plugin_values(&metrics[0]).into_keys().collect();
    assert_eq!(names, ["pii.buffer.size", "pii.inflight"]);
}

#[test]
fn json_lines_exporter_writes_canonical_otlp_json() {
    let dir = std::env::temp_dir().join(format!("ptel-rust-exporter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut o = options(ExporterKind::JsonLines);
    o.path = Some(path.clone());
    o.self_telemetry = false;
    let exporter = Exporter::new(&o).unwrap();
    let memory = Exporter::new(&options(ExporterKind::Memory)).unwrap();
    let inv = invocation();
    for e in [&exporter, &memory] {
        e.submit(&inv).unwrap();
    }
    exporter.shutdown(SECOND).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let traces = &memory.memory_requests(Signal::Traces)[0];
    assert_eq!(
        lines[0],
        ptel::json::render(ptel::json::MessageType::TracesData, traces).unwrap()
    );
    assert!(lines[1].starts_with("{\"resourceMetrics\""), "{}", lines[1]);
    assert!(lines[1].contains("\"pii.scan.duration\""));
    // After shutdown: submits and flushes are refused, counted nowhere.
    assert_eq!(exporter.submit(&inv).unwrap_err().kind(), ErrorKind::State);
    assert_eq!(exporter.flush(SECOND).unwrap_err().kind(), ErrorKind::State);
    assert_eq!(exporter.stats().invocations, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn environment_variables_configure_the_options() {
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/base"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "https://m.example/v1/metrics",
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=two%20words"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_SERVICE_NAME", "svc"),
        ("OTEL_RESOURCE_ATTRIBUTES", "k=v"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "LowMemory",
        ),
    ];
    let lookup = |n: &str| {
        env.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    };
    let mut o = ExporterOptions::default();
    o.apply_env_with(lookup).unwrap();
    assert_eq!(o.kind, ExporterKind::OtlpHttp);
    assert_eq!(o.endpoint, "http://127.0.0.1:4318/base");
    assert_eq!(o.traces_endpoint, "");
    assert_eq!(o.metrics_endpoint, "https://m.example/v1/metrics");
    assert_eq!(o.headers, "a=1,b=two%20words");
    assert_eq!(o.timeout, Duration::from_millis(2500));
    assert_eq!(o.compression, Compression::Gzip);
    assert_eq!(o.service_name, "svc");
    assert_eq!(o.resource_attributes, "k=v");
    assert_eq!(o.temporality, TemporalityPreference::LowMemory);

    // Disabled wins; unset variables leave fields as they were.
    let mut o = options(ExporterKind::Memory);
    o.apply_env_with(|n| (n == "OTEL_SDK_DISABLED").then(|| "TRUE".to_owned()))
        .unwrap();
    assert_eq!(
        (o.kind, o.service_name.as_str()),
        (ExporterKind::None, "gateway")
    );

    // A bad value is ignored and named; the others still apply.
    let bad = [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
        ("OTEL_SERVICE_NAME", "still-set"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        ),
    ];
    let mut o = ExporterOptions::default();
    let err = o
        .apply_env_with(|n| {
            bad.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Value);
    assert_eq!(err.field(), ptel::sys::PTEL_ENV_COMPRESSION);
    assert_eq!(o.service_name, "still-set");
    assert_eq!(o.compression, Compression::None);
    assert_eq!(o.temporality, TemporalityPreference::Cumulative);
    // A panicking lookup counts as unset.
    let mut o = ExporterOptions::default();
    o.apply_env_with(|_| panic!("lookup")).unwrap();
    assert_eq!(o.kind, ExporterKind::JsonLines);
}

#[test]
fn invalid_options_and_states_are_errors() {
    let mut o = options(ExporterKind::JsonLines);
    o.path = Some("/nonexistent-dir/ptel/out.jsonl".into());
    assert_eq!(Exporter::new(&o).unwrap_err().kind(), ErrorKind::Io);
    o.path = Some("".into());
    assert_eq!(
        Exporter::new(&o).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    o.path = Some("a\0b".into());
    assert_eq!(
        Exporter::new(&o).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let mut o = options(ExporterKind::OtlpHttp);
    o.headers = "novalue".into();
    assert_eq!(
        Exporter::new(&o).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let bad = [KeyValue::new("", 1)];
    let mut o = options(ExporterKind::Memory);
    o.resource = &bad;
    assert!(Exporter::new(&o).is_err());

    let exporter = Exporter::new(&options(ExporterKind::Memory)).unwrap();
    let open = ptel::Invocation::builder().begin().unwrap();
    assert_eq!(exporter.submit(&open).unwrap_err().kind(), ErrorKind::State);
    assert_eq!(
        exporter
            .submit_traces(&[0x0a, 0x05, 0x12])
            .unwrap_err()
            .kind(),
        ErrorKind::Truncated
    );
    assert_eq!(exporter.stats().traces.requests_submitted, 0);
    exporter.shutdown(SECOND).unwrap();
    assert_eq!(
        exporter.shutdown(SECOND).unwrap_err().kind(),
        ErrorKind::State
    );

    // Kind None takes everything and keeps nothing.
    let none = Exporter::new(&options(ExporterKind::None)).unwrap();
    none.submit(&invocation()).unwrap();
    assert!(none.memory_requests(Signal::Traces).is_empty());
}

#[test]
fn submits_from_many_threads_are_all_counted() {
    let exporter = Arc::new(Exporter::new(&options(ExporterKind::Memory)).unwrap());
    let inv = Arc::new(invocation());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (e, inv) = (exporter.clone(), inv.clone());
            std::thread::spawn(move || {
                for _ in 0..25 {
                    e.submit(&inv).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    exporter.flush(SECOND).unwrap();
    assert_eq!(exporter.stats().invocations, 100);
    assert_eq!(exporter.memory_requests(Signal::Traces).len(), 100);
    let metrics = exporter.memory_requests(Signal::Metrics);
    assert_eq!(plugin_values(&metrics[0])["pii.detections"], 200.0);
}

/// One request the receiver got: path, header lines, body.
type Received = (String, String, Vec<u8>);

/// A loopback OTLP/HTTP receiver: answers `statuses` in turn (then 200) and
/// returns each request's path, headers and body.
fn receiver(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut statuses = statuses.into_iter();
        // Bounded: a test that gets fewer requests fails instead of hanging.
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        // Two signals, plus one retry per non-2xx status.
        let expected = 2 + statuses.len();
        while got.len() < expected && std::time::Instant::now() < deadline {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(e) => panic!("accept: {e}"),
            };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut r = BufReader::new(stream);
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
            let mut headers = String::new();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                headers.push_str(&h);
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let status = statuses.next().unwrap_or(200);
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nRetry-After: 0\r\nConnection: close\r\n\r\n"
            );
            r.get_mut().write_all(reply.as_bytes()).unwrap();
            got.push((path, headers, body));
        }
        got
    });
    (url, handle)
}

#[test]
fn otlp_http_posts_the_same_bytes_and_retries() {
    let (url, server) = receiver(vec![503]);
    let mut o = options(ExporterKind::OtlpHttp);
    o.endpoint = url;
    o.headers = "x-tenant=acme".into();
    o.self_telemetry = false;
    o.schedule_delay = Duration::from_millis(10);
    o.retry_initial = Duration::from_millis(10);
    o.retry_max = Duration::from_millis(20);
    // libcurl comes with scripts/bootstrap.sh (make test runs it first).
    let exporter = Exporter::new(&o).unwrap();
    let inv = invocation();
    exporter.submit(&inv).unwrap();
    exporter.shutdown(Duration::from_secs(20)).unwrap();
    let got = server.join().unwrap();
    let resource = gateway_resource();
    let want = inv
        .export_traces(&ptel::ExportOptions {
            resource: &resource,
            ..Default::default()
        })
        .unwrap();
    let traces: Vec<_> = got.iter().filter(|(p, _, _)| p == "/v1/traces").collect();
    assert_eq!(traces.len(), 2, "the 503, then the retry");
    for (_, headers, body) in &traces {
        assert_eq!(*body, want);
        let h = headers.to_ascii_lowercase();
        assert!(h.contains("content-type: application/x-protobuf"), "{h}");
        assert!(h.contains("x-tenant: acme"), "{h}");
    }
    let metrics: Vec<_> = got.iter().filter(|(p, _, _)| p == "/v1/metrics").collect();
    assert_eq!(metrics.len(), 1);
    assert_eq!(plugin_values(&metrics[0].2)["pii.detections"], 2.0);
    let s = exporter.stats();
    assert_eq!((s.traces.items_sent, s.traces.retries), (3, 1));
    assert_eq!(s.traces.dropped_total(), 0);
    assert_eq!(s.last_http_status, 200);
    assert_eq!(s.traces.dropped(DropReason::Rejected), 0);
}

#[test]
fn exporter_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Exporter>();
    send_sync::<ptel::ExporterStats>();
}
