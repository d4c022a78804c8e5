//! Byte-identical payloads: the scenarios of core/tests/test_golden.c
//! recorded through the safe API, compared with core/tests/golden/*.bin,
//! and then decoded with opentelemetry-proto and checked field by field.
mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use ptel::{AttrValue, Decision, KeyValue, Limits, Recorder, SpanKind, StatusCode};

fn run(decision: Decision, f: impl FnOnce(&Recorder, &Mono)) -> Vec<u8> {
    let ctx = context(decision, Limits::zero());
    let (mut rec, mono) = recorder(&ctx, false);
    f(&rec, &mono);
    rec.finish().to_vec()
}

fn span_simple(rec: &Recorder, mono: &Mono) {
    let s = rec.span_builder("handle").kind(SpanKind::Internal).start();
    s.set_attributes(&[KeyValue::new("n", 0)]);
    s.set_status(StatusCode::Error, "boom");
    mono.set(1000);
    s.end();
}

fn attribute_types(rec: &Recorder, _: &Mono) {
    let s = rec.span_builder("types").kind(SpanKind::Client).start();
    let arr = [
        AttrValue::Str("caf\u{e9}"),
        AttrValue::Double(f64::NAN),
        AttrValue::Double(f64::NEG_INFINITY),
        AttrValue::Int(i64::MIN),
    ];
    let inner = [KeyValue::new("k", ""), KeyValue::new("z", 0)];
    s.set_attributes(&[
        KeyValue::new("s", "text"),
        KeyValue::new("empty", ""),
        KeyValue::new("zero", 0),
        KeyValue::new("neg", -5),
        KeyValue::new("max", i64::MAX),
        KeyValue::new("b", false),
        KeyValue::new("bytes", &[0u8, 1, 0xfe]),
        KeyValue::new("arr", &arr[..]),
        KeyValue::new("map", &inner[..]),
    ]);
    s.set_attribute("d", -0.0);
}

fn events_links(rec: &Recorder, mono: &Mono) {
    let outer = rec.span_builder("outer").kind(SpanKind::Server).start();
    mono.set(10);
    let inner = outer.child("inner").kind(SpanKind::Producer).start();
    let ea = [
        KeyValue::new("pii.type", "email"),
        KeyValue::new("pii.offset", 8),
    ];
    inner.add_event("pii.detected", &ea);
    inner.record_exception(
        "TimeoutError",
        "upstream slow",
        Some("at fetch()\nat main()"),
    );
    let mut tid = [0u8; 16];
    tid[..2].copy_from_slice(&[0xaa, 1]);
    let mut sid = [0u8; 8];
    sid[..2].copy_from_slice(&[0xbb, 2]);
    let linked = ptel::SpanContext {
        trace_id: tid,
        span_id: sid,
        trace_flags: 1,
        is_remote: true,
    };
    inner.add_link(&linked, "vendor=x", &ea[..1]);
    mono.set(20);
    inner.end();
    outer.set_status(StatusCode::Ok, "");
    mono.set(30);
    outer.end();
    let open = rec
        .span_builder("left.open")
        .kind(SpanKind::Consumer)
        .start();
    std::mem::forget(open); // reported as an open span
}

fn metrics(rec: &Recorder, mono: &Mono) {
    let s = rec.span("scan");
    let c = rec
        .i64_counter("pii.detections")
        .with_unit("{detection}")
        .with_description("detections by type")
        .build();
    let u = rec
        .f64_up_down_counter("queue.depth")
        .with_unit("{item}")
        .build();
    let g = rec
        .i64_gauge("limit.remaining")
        .with_unit("{request}")
        .build();
    let h = rec
        .f64_histogram("scan.duration")
        .with_unit("s")
        .with_description("scan time")
        .with_boundaries(&[0.001, 0.01, 0.1])
        .build();
    let hd = rec.i64_histogram("payload.size").with_unit("By").build();
    let email = [KeyValue::new("pii.type", "email")];
    let phone = [KeyValue::new("pii.type", "phone")];
    c.add_with_span(2, &email, Some(&s));
    c.add_with_span(1, &phone, None);
    c.add_with_span(0, &email, None);
    u.add_with_span(3.5, &[], None);
    u.add_with_span(-1.25, &[], None);
    g.record_with_span(0, &[], None);
    h.record_with_span(0.004, &email, Some(&s));
    h.record_with_span(0.5, &email, None);
    h.record_with_span(0.0, &phone, None);
    hd.record_with_span(1234, &[], None);
    hd.record_with_span(-3, &[], None);
    mono.set(500);
    s.end();
}

fn limits(rec: &Recorder, _: &Mono) {
    let s = rec.span("flood");
    let keys: Vec<String> = (0..200).map(|k| format!("k{k:03}")).collect();
    let attrs: Vec<KeyValue> = keys
        .iter()
        .enumerate()
        .map(|(k, key)| KeyValue::new(key, k as i64))
        .collect();
    s.set_attributes(&attrs);
    for _ in 0..130 {
        s.add_event("e", &[]);
    }
    let big = "x".repeat(4999);
    s.set_attribute("k000", big.as_str());
}

fn dropped(rec: &Recorder, _: &Mono) {
    let s = rec.span("never");
    let c = rec.f64_counter("requests").with_unit("{request}").build();
    c.add_with_span(1.0, &[], Some(&s));
    s.end();
}

#[test]
fn golden_span_simple() {
    let got = run(Decision::RecordAndSample, span_simple);
    assert_eq!(got, golden("tel_span_simple"));
    let t = decode_telemetry(&got);
    assert_eq!(t.protocol_version, 1);
    assert_eq!(t.spans.len(), 1);
    let s = &t.spans[0];
    assert_eq!(s.trace_id, TRACE_ID);
    assert_eq!(s.span_id, id8(1));
    assert_eq!(s.parent_span_id, PARENT_ID);
    assert_eq!(s.name, "handle");
    assert_eq!(s.kind, 1);
    assert_eq!(s.start_time_unix_nano, TIME_BASE);
    assert_eq!(s.end_time_unix_nano, TIME_BASE + 1000);
    assert_eq!(s.attributes.len(), 1);
    assert_eq!(int_attr(&s.attributes[0]), ("n", 0));
    let st = s.status.as_ref().unwrap();
    assert_eq!((st.code, st.message.as_str()), (2, "boom"));
    assert_eq!(s.flags, 0x301); // sampled, has_is_remote, is_remote (parent remote)
    assert!(t.metrics.is_empty() && t.open_spans.is_empty());
    assert_eq!(t.dropped, Drops::default());
}

#[test]
fn golden_attribute_types() {
    let got = run(Decision::RecordAndSample, attribute_types);
    assert_eq!(got, golden("tel_attribute_types"));
    let t = decode_telemetry(&got);
    let s = &t.spans[0];
    assert_eq!(s.kind, 3);
    let get = |k: &str| {
        s.attributes
            .iter()
            .find(|a| a.key == k)
            .unwrap()
            .value
            .clone()
            .unwrap()
            .value
    };
    assert_eq!(get("s"), Some(Value::StringValue("text".into())));
    assert_eq!(get("empty"), Some(Value::StringValue(String::new())));
    assert_eq!(get("zero"), Some(Value::IntValue(0)));
    assert_eq!(get("max"), Some(Value::IntValue(i64::MAX)));
    assert_eq!(get("b"), Some(Value::BoolValue(false)));
    assert_eq!(get("bytes"), Some(Value::BytesValue(vec![0, 1, 0xfe])));
    match get("arr") {
        Some(Value::ArrayValue(a)) => {
            assert_eq!(a.values.len(), 4);
            assert_eq!(a.values[0].value, Some(Value::StringValue("café".into())));
            assert!(matches!(a.values[1].value, Some(Value::DoubleValue(d)) if d.is_nan()));
            assert_eq!(
                a.values[2].value,
                Some(Value::DoubleValue(f64::NEG_INFINITY))
            );
            assert_eq!(a.values[3].value, Some(Value::IntValue(i64::MIN)));
        }
        other => panic!("arr: {other:?}"),
    }
    match get("map") {
        Some(Value::KvlistValue(m)) => {
            assert_eq!(m.values.len(), 2);
            assert_eq!(str_attr(&m.values[0]), ("k", ""));
            assert_eq!(int_attr(&m.values[1]), ("z", 0));
        }
        other => panic!("map: {other:?}"),
    }
    assert!(matches!(get("d"), Some(Value::DoubleValue(d)) if d == 0.0 && d.is_sign_negative()));
}

#[test]
fn golden_events_links() {
    let got = run(Decision::RecordAndSample, events_links);
    assert_eq!(got, golden("tel_events_links"));
    let t = decode_telemetry(&got);
    assert_eq!(t.spans.len(), 2);
    let (inner, outer) = (&t.spans[0], &t.spans[1]);
    assert_eq!(
        (inner.name.as_str(), outer.name.as_str()),
        ("inner", "outer")
    );
    assert_eq!(inner.parent_span_id, outer.span_id);
    assert_eq!(inner.events.len(), 2);
    assert_eq!(inner.events[0].name, "pii.detected");
    assert_eq!(inner.events[0].time_unix_nano, TIME_BASE + 10);
    assert_eq!(inner.events[1].name, "exception");
    assert_eq!(
        str_attr(&inner.events[1].attributes[2]),
        ("exception.stacktrace", "at fetch()\nat main()")
    );
    assert_eq!(inner.links.len(), 1);
    assert_eq!(inner.links[0].trace_state, "vendor=x");
    assert_eq!(inner.links[0].span_id[..2], [0xbb, 2]);
    assert_eq!(inner.status.as_ref().unwrap().message, "upstream slow");
    assert_eq!(outer.status.as_ref().unwrap().code, 1);
    assert_eq!(outer.end_time_unix_nano, TIME_BASE + 30);
    assert_eq!(t.open_spans.len(), 1);
    assert_eq!(t.open_spans[0].name, "left.open");
    assert_eq!(t.open_spans[0].end_time_unix_nano, 0);
    assert_eq!(t.open_spans[0].parent_span_id, PARENT_ID);
}

#[test]
fn golden_metrics() {
    let got = run(Decision::RecordAndSample, metrics);
    assert_eq!(got, golden("tel_metrics"));
    let t = decode_telemetry(&got);
    let names: Vec<&str> = t.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "pii.detections",
            "queue.depth",
            "limit.remaining",
            "scan.duration",
            "payload.size"
        ]
    );
    let c = &t.metrics[0];
    assert_eq!(
        (c.unit.as_str(), c.description.as_str()),
        ("{detection}", "detections by type")
    );
    match &c.data {
        Some(Data::Sum(sum)) => {
            assert!(sum.is_monotonic);
            assert_eq!(sum.aggregation_temporality, 1);
            assert_eq!(sum.data_points.len(), 2);
            assert_eq!(
                sum.data_points[0].value,
                Some(number_data_point::Value::AsInt(2))
            );
            assert_eq!(sum.data_points[0].exemplars.len(), 1);
            assert_eq!(sum.data_points[0].exemplars[0].span_id, id8(1));
            assert_eq!(
                sum.data_points[1].value,
                Some(number_data_point::Value::AsInt(1))
            );
            assert!(sum.data_points[1].exemplars.is_empty());
        }
        other => panic!("counter: {other:?}"),
    }
    match &t.metrics[1].data {
        Some(Data::Sum(sum)) => {
            assert!(!sum.is_monotonic);
            assert_eq!(
                sum.data_points[0].value,
                Some(number_data_point::Value::AsDouble(2.25))
            );
        }
        other => panic!("updown: {other:?}"),
    }
    match &t.metrics[2].data {
        Some(Data::Gauge(g)) => assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsInt(0))
        ),
        other => panic!("gauge: {other:?}"),
    }
    match &t.metrics[3].data {
        Some(Data::Histogram(h)) => {
            let email = &h.data_points[0];
            assert_eq!(email.explicit_bounds, [0.001, 0.01, 0.1]);
            assert_eq!(email.count, 2);
            assert_eq!(email.bucket_counts, [0, 1, 0, 1]);
            assert_eq!((email.min, email.max), (Some(0.004), Some(0.5)));
            assert_eq!(email.exemplars.len(), 1);
        }
        other => panic!("histogram: {other:?}"),
    }
    match &t.metrics[4].data {
        Some(Data::Histogram(h)) => {
            let p = &h.data_points[0];
            assert_eq!(p.count, 2);
            assert_eq!(p.sum, None); // a negative measurement: sum omitted
            assert_eq!(p.explicit_bounds, ptel::default_histogram_bounds());
        }
        other => panic!("int histogram: {other:?}"),
    }
}

#[test]
fn golden_limits() {
    let got = run(Decision::RecordOnly, limits);
    assert_eq!(got, golden("tel_limits"));
    let t = decode_telemetry(&got);
    let s = &t.spans[0];
    assert_eq!(s.attributes.len(), 128);
    assert_eq!(s.dropped_attributes_count, 72);
    assert_eq!(s.events.len(), 128);
    assert_eq!(s.dropped_events_count, 2);
    assert_eq!(str_attr(&s.attributes[0]).1.len(), 4096);
    assert_eq!(s.flags & 1, 0); // RECORD_ONLY: not sampled
}

#[test]
fn golden_dropped() {
    let got = run(Decision::Drop, dropped);
    assert_eq!(got, golden("tel_dropped"));
    let t = decode_telemetry(&got);
    assert!(t.spans.is_empty() && t.open_spans.is_empty());
    assert_eq!(t.metrics.len(), 1);
    match &t.metrics[0].data {
        Some(Data::Sum(sum)) => {
            assert_eq!(
                sum.data_points[0].value,
                Some(number_data_point::Value::AsDouble(1.0))
            );
            assert!(sum.data_points[0].exemplars.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn golden_context() {
    let limits = Limits {
        attribute_count: 64,
        payload_bytes: 1 << 20,
        ..Limits::zero()
    };
    let parent = ptel::SpanContext {
        trace_id: TRACE_ID,
        span_id: PARENT_ID,
        trace_flags: 1,
        is_remote: true,
    };
    let ctx = ptel::Context::builder(parent)
        .decision(Decision::RecordAndSample)
        .limits(limits)
        .time_base(TIME_BASE)
        .plugin("pii_filter", "1.2.0")
        .hook("tool_pre_invoke")
        .tracestate("vendor=abc,ot=th:8")
        .baggage("tenant=acme,user.id=42;pii")
        .features(u64::from(ptel::sys::PTEL_FEATURES_V1))
        .build()
        .unwrap();
    let want = golden("ctx_full");
    assert_eq!(ctx.encode(), want);
    let back = ptel::Context::decode(&want).unwrap();
    assert_eq!(back.span_context(), parent);
    assert_eq!(back.limits(), limits);
    assert_eq!(back.plugin_version(), "1.2.0");
    assert_eq!(back.hook(), "tool_pre_invoke");
    assert_eq!(back.baggage(), "tenant=acme,user.id=42;pii");
}

/// The same recording twice through one reused recorder gives the same bytes.
#[test]
fn reset_reproduces_the_payload() {
    let ctx = context(Decision::RecordAndSample, Limits::zero());
    let (mut rec, mono) = recorder(&ctx, false);
    metrics(&rec, &mono);
    let first = rec.finish().to_vec();
    assert_eq!(first, golden("tel_metrics"));
    // The id counter continues, so compare the structure rather than ids.
    rec.reset(&ctx);
    mono.set(0);
    metrics(&rec, &mono);
    let second = rec.finish().to_vec();
    assert_eq!(first.len(), second.len());
}
