//! The host API end to end: invocation, validation report, OTLP export
//! decoded with opentelemetry-proto, OTLP/JSON, splicing, aggregation.
mod common;

use std::sync::Arc;

use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point;
use prost::Message;
use ptel::{
    Aggregator, AggregatorOptions, Decision, ErrorKind, ExportOptions, HostPolicy, Invocation,
    KeyValue, Outcome, Reason, Recorder, SpanContext, Temporality, TimePolicy,
};

const HOST_SPAN: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 0x51];

/// An invocation with the fake clock and counting ids, under the fixture's
/// trace; returns the clock handle too.
fn begin(decision: Decision, policy: Option<&HostPolicy>) -> (Invocation, Mono) {
    let mono = Mono::default();
    let attrs = [KeyValue::new("plugin.mode", "enforce")];
    let mut b = Invocation::builder()
        .parent(SpanContext {
            trace_id: TRACE_ID,
            span_id: PARENT_ID,
            trace_flags: 1,
            is_remote: false,
        })
        .decision(decision)
        .plugin("pii_filter", "1.0.0")
        .hook("tool_pre_invoke")
        .span_id(HOST_SPAN)
        .attributes(&attrs)
        .clock(FakeClock(mono.clone()))
        .id_generator(CountingIds::default());
    if let Some(p) = policy {
        b = b.policy(p);
    }
    (b.begin().expect("begin"), mono)
}

/// The plugin side: records under the invocation's context (via its bytes,
/// as across a real boundary) with the same clock.
fn plugin(inv: &Invocation, mono: &Mono, f: impl FnOnce(&Recorder)) -> Vec<u8> {
    let ctx = ptel::Context::decode(&inv.context().encode()).unwrap();
    let mut rec = Recorder::builder(&ctx)
        .clock(FakeClock(mono.clone()))
        .id_generator(CountingIds(std::sync::atomic::AtomicU8::new(100)))
        .strict(true)
        .build()
        .unwrap();
    f(&rec);
    assert!(rec.take_errors().is_empty());
    rec.finish().to_vec()
}

fn resource() -> [KeyValue<'static>; 1] {
    [KeyValue::new("service.name", "gateway")]
}

#[test]
fn invocation_round_trip_decoded_with_opentelemetry_proto() {
    let (mut inv, mono) = begin(Decision::RecordAndSample, None);
    let ctx = inv.context();
    assert_eq!(ctx.span_context().span_id, HOST_SPAN);
    assert_eq!(ctx.span_context().trace_id, TRACE_ID);
    assert_eq!(ctx.plugin_name(), "pii_filter");
    assert_eq!(ctx.hook(), "tool_pre_invoke");
    assert_eq!(inv.span_context().span_id, HOST_SPAN);
    let payload = plugin(&inv, &mono, |rec| {
        mono.set(100);
        let s = rec.span("pii.scan");
        s.set_attribute("bytes", 42);
        rec.i64_counter("pii.detections")
            .with_unit("{detection}")
            .build()
            .add(2, &[("pii.type", "email").into()]);
        mono.set(200);
    });
    mono.set(300);
    let report = inv.end(payload.clone(), Outcome::Ok, "").unwrap();
    assert!(!report.rejected);
    assert_eq!(
        (
            report.spans_accepted,
            report.spans_dropped,
            report.spans_modified
        ),
        (1, 0, 0)
    );
    assert_eq!((report.metrics_accepted, report.points_accepted), (1, 1));
    assert!(report.first.is_none());
    assert_eq!(report.reasons().count(), 0);

    let res = resource();
    let opts = ExportOptions {
        resource: &res,
        schema_url: "https://opentelemetry.io/schemas/1.26.0",
        ..Default::default()
    };
    let bytes = inv.export_traces(&opts).unwrap();
    // The plugin's span bytes are spliced verbatim.
    let t = decode_telemetry(&payload);
    let span_bytes = t.spans[0].encode_to_vec();
    assert!(bytes.windows(span_bytes.len()).any(|w| w == span_bytes));
    let req = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
    assert_eq!(req.resource_spans.len(), 1);
    let rs = &req.resource_spans[0];
    assert_eq!(rs.schema_url, "https://opentelemetry.io/schemas/1.26.0");
    assert_eq!(
        str_attr(&rs.resource.as_ref().unwrap().attributes[0]),
        ("service.name", "gateway")
    );
    assert_eq!(rs.scope_spans.len(), 2);
    let host = &rs.scope_spans[0];
    assert_eq!(host.scope.as_ref().unwrap().name, "ptel");
    assert_eq!(host.scope.as_ref().unwrap().version, ptel::version());
    let hs = &host.spans[0];
    assert_eq!(hs.name, "plugin.execute");
    assert_eq!(hs.span_id, HOST_SPAN);
    assert_eq!(hs.parent_span_id, PARENT_ID);
    assert_eq!(hs.trace_id, TRACE_ID);
    assert_eq!(
        (hs.start_time_unix_nano, hs.end_time_unix_nano),
        (TIME_BASE, TIME_BASE + 300)
    );
    let attrs: Vec<(&str, &str)> = hs.attributes.iter().map(str_attr).collect();
    assert_eq!(
        attrs,
        [
            ("plugin.name", "pii_filter"),
            ("plugin.hook", "tool_pre_invoke"),
            ("plugin.version", "1.0.0"),
            ("plugin.mode", "enforce"),
            ("plugin.outcome", "ok")
        ]
    );
    let plugin_scope = &rs.scope_spans[1];
    assert_eq!(plugin_scope.scope.as_ref().unwrap().name, "pii_filter");
    assert_eq!(plugin_scope.scope.as_ref().unwrap().version, "1.0.0");
    let ps = &plugin_scope.spans[0];
    assert_eq!(ps.name, "pii.scan");
    assert_eq!(ps.parent_span_id, HOST_SPAN);
    assert_eq!(ps.span_id, id8(101));
    assert_eq!(
        (ps.start_time_unix_nano, ps.end_time_unix_nano),
        (TIME_BASE + 100, TIME_BASE + 200)
    );
    assert_eq!(int_attr(&ps.attributes[0]), ("bytes", 42));

    let mreq =
        ExportMetricsServiceRequest::decode(&inv.export_metrics(&opts).unwrap()[..]).unwrap();
    let sm = &mreq.resource_metrics[0].scope_metrics[0];
    assert_eq!(sm.scope.as_ref().unwrap().name, "pii_filter");
    let m = &sm.metrics[0];
    assert_eq!(
        (m.name.as_str(), m.unit.as_str()),
        ("pii.detections", "{detection}")
    );
    match &m.data {
        Some(Data::Sum(s)) => {
            assert_eq!(
                s.data_points[0].value,
                Some(number_data_point::Value::AsInt(2))
            );
            assert_eq!(s.data_points[0].exemplars[0].span_id, id8(101));
        }
        other => panic!("{other:?}"),
    }

    // JSON of the same requests.
    let tj = inv.export_traces_json(&opts).unwrap();
    assert!(
        tj.contains("\"name\":\"pii.scan\"") && tj.contains("\"spanId\":\"0000000000000051\""),
        "{tj}"
    );
    let mj = inv.export_metrics_json(&opts).unwrap();
    assert!(mj.contains("\"asInt\":\"2\""), "{mj}");
    // Without the invocation span (an SDK adapter exports it itself).
    let no_host = ExportOptions {
        include_invocation_span: false,
        host_scope_name: "x",
        ..opts
    };
    let req = ExportTraceServiceRequest::decode(&inv.export_traces(&no_host).unwrap()[..]).unwrap();
    assert_eq!(req.resource_spans[0].scope_spans.len(), 1);
    assert_eq!(ptel::__allocator_size_mismatches(), 0);
}

#[test]
fn splicing_many_invocations_matches_single_export() {
    let (mut inv, mono) = begin(Decision::RecordAndSample, None);
    let payload = plugin(&inv, &mono, |rec| {
        rec.span("a");
        rec.f64_gauge("g").build().record(1.5, &[]);
    });
    inv.end(payload, Outcome::Ok, "").unwrap();
    let res = resource();
    let opts = ExportOptions {
        resource: &res,
        ..Default::default()
    };
    let spans = inv.export_scope_spans(&opts).unwrap();
    assert_eq!(
        opts.wrap_traces(&spans).unwrap(),
        inv.export_traces(&opts).unwrap()
    );
    let metrics = inv.export_scope_metrics(&opts).unwrap();
    assert_eq!(
        opts.wrap_metrics(&metrics).unwrap(),
        inv.export_metrics(&opts).unwrap()
    );
    let twice = opts.wrap_traces(&[spans.clone(), spans].concat()).unwrap();
    let req = ExportTraceServiceRequest::decode(&twice[..]).unwrap();
    assert_eq!(req.resource_spans[0].scope_spans.len(), 4);
    assert!(opts.wrap_metrics(&[]).unwrap().is_empty());
}

#[test]
fn hostile_payloads_are_rejected_with_a_reason() {
    for (payload, reason) in [
        (vec![0xff], "malformed"),
        (vec![0x08, 0x01, 0x12, 0x05, 0x0a], "malformed"),
        (vec![0x08, 0x02], "version"),
        (vec![0x12, 0x00], "version"),
    ] {
        let (mut inv, _) = begin(Decision::RecordAndSample, None);
        let report = inv.end(payload.clone(), Outcome::Ok, "").unwrap();
        assert!(report.rejected, "{payload:?}");
        let (r, e) = report.first.clone().unwrap();
        assert_eq!(r.name(), reason);
        assert_eq!(report.count(r), 1);
        if reason == "malformed" {
            assert!(
                matches!(e.kind(), ErrorKind::Truncated | ErrorKind::Malformed),
                "{e}"
            );
        }
        assert!(
            report.to_json().contains(&format!("\"{reason}\":1")),
            "{}",
            report.to_json()
        );
        assert!(format!("{report:?}").contains("rejected"));
        // Only the host's span remains.
        let req =
            ExportTraceServiceRequest::decode(&inv.export_traces(&Default::default()).unwrap()[..])
                .unwrap();
        assert_eq!(req.resource_spans[0].scope_spans.len(), 1);
    }
    // Too large for the policy.
    let policy = HostPolicy {
        limits: ptel::Limits {
            payload_bytes: 4,
            ..ptel::Limits::zero()
        },
        ..Default::default()
    };
    let (mut inv, _) = begin(Decision::RecordAndSample, Some(&policy));
    let report = inv
        .end(vec![0x08, 0x01, 0x2a, 0x00, 0x00], Outcome::Ok, "")
        .unwrap();
    assert!(report.rejected);
    assert_eq!(report.first.unwrap().0.name(), "too_large");
}

#[test]
fn forged_spans_are_dropped_per_rule() {
    let (mut inv, mono) = begin(Decision::RecordAndSample, None);
    // A recorder under another trace: its spans have the wrong trace id.
    let other = ptel::Context::builder(SpanContext::new([7; 16], [8; 8], 1))
        .build()
        .unwrap();
    let mut rec = Recorder::builder(&other)
        .clock(FakeClock(mono.clone()))
        .build()
        .unwrap();
    rec.span("foreign");
    rec.span_builder("host id").span_id(HOST_SPAN).start();
    let payload = rec.finish().to_vec();
    let report = inv.end(payload, Outcome::Ok, "").unwrap();
    assert_eq!((report.spans_accepted, report.spans_dropped), (0, 2));
    let mismatch = Reason::from_name("trace_id_mismatch").unwrap();
    assert_eq!(report.count(mismatch), 2);
    assert_eq!(report.reasons().collect::<Vec<_>>(), [(mismatch, 2)]);
    assert_eq!(report.first.as_ref().unwrap().0, mismatch);
    assert_eq!(report.first.as_ref().unwrap().1.kind(), ErrorKind::Rejected);
}

#[test]
fn reserved_keys_time_policy_and_record_only() {
    // Custom reserved keys: "secret." reserved, service.name no longer.
    let policy = HostPolicy {
        reserved_keys: Some(vec!["secret.".into()]),
        time_policy: TimePolicy::Reject,
        time_slack_ns: 10,
        accept_record_only: true,
        ..Default::default()
    };
    let (mut inv, mono) = begin(Decision::RecordOnly, Some(&policy));
    let payload = plugin(&inv, &mono, |rec| {
        let s = rec.span("kept");
        s.set_attributes(&[
            KeyValue::new("secret.token", "x"),
            KeyValue::new("service.name", "y"),
        ]);
        rec.span_builder("early")
            .start_time(TIME_BASE - 1000)
            .start();
    });
    mono.set(50);
    let report = inv.end(payload, Outcome::Ok, "").unwrap();
    assert_eq!(report.count(Reason::from_name("reserved_key").unwrap()), 1);
    assert_eq!(report.count(Reason::from_name("time_window").unwrap()), 1);
    assert_eq!(report.spans_accepted, 1);
    assert_eq!(report.spans_modified, 1);
    let req =
        ExportTraceServiceRequest::decode(&inv.export_traces(&Default::default()).unwrap()[..])
            .unwrap();
    let ps = &req.resource_spans[0].scope_spans.last().unwrap().spans[0];
    assert_eq!(ps.name, "kept");
    assert_eq!(ps.attributes.len(), 1);
    assert_eq!(ps.attributes[0].key, "service.name");
    assert_eq!(ps.dropped_attributes_count, 1);
    // Default policy: RECORD_ONLY spans are not exported.
    let (mut inv, mono) = begin(Decision::RecordOnly, None);
    let payload = plugin(&inv, &mono, |rec| {
        rec.span("not exported");
    });
    let report = inv.end(payload, Outcome::Ok, "").unwrap();
    assert_eq!(report.count(Reason::from_name("not_sampled").unwrap()), 1);
}

#[test]
fn outcomes_close_the_host_span_and_open_spans() {
    for (outcome, error_type, want) in [
        (Outcome::Error, "ValueError", "ValueError"),
        (Outcome::Error, "", "_OTHER"),
        (Outcome::Timeout, "", "timeout"),
        (Outcome::Crash, "", "crash"),
    ] {
        let (mut inv, mono) = begin(Decision::RecordAndSample, None);
        let payload = plugin(&inv, &mono, |rec| {
            std::mem::forget(rec.span("left open"));
        });
        let report = inv.end(payload, outcome, error_type).unwrap();
        assert_eq!((report.open_spans, report.spans_accepted), (1, 1));
        let req =
            ExportTraceServiceRequest::decode(&inv.export_traces(&Default::default()).unwrap()[..])
                .unwrap();
        let host = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(host.status.as_ref().unwrap().code, 2);
        let et = host
            .attributes
            .iter()
            .find(|a| a.key == "error.type")
            .map(str_attr)
            .unwrap();
        assert_eq!(et.1, want);
        let open = &req.resource_spans[0].scope_spans[1].spans[0];
        assert_eq!(open.status.as_ref().unwrap().code, 2);
        assert_ne!(open.end_time_unix_nano, 0);
    }
}

#[test]
fn invalid_host_calls() {
    let err = Invocation::builder()
        .attributes(&[KeyValue::new("", 1)])
        .begin()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let (mut inv, _) = begin(Decision::RecordAndSample, None);
    let agg = Aggregator::new(AggregatorOptions::default()).unwrap();
    assert_eq!(
        inv.export_traces(&Default::default()).unwrap_err().kind(),
        ErrorKind::State
    );
    assert_eq!(
        inv.export_metrics(&Default::default()).unwrap_err().kind(),
        ErrorKind::State
    );
    assert_eq!(
        inv.export_scope_spans(&Default::default())
            .unwrap_err()
            .kind(),
        ErrorKind::State
    );
    assert_eq!(
        inv.export_scope_metrics(&Default::default())
            .unwrap_err()
            .kind(),
        ErrorKind::State
    );
    assert_eq!(agg.add(&inv).unwrap_err().kind(), ErrorKind::State);
    inv.end(&b""[..], Outcome::Ok, "").unwrap();
    assert_eq!(
        inv.end(Vec::new(), Outcome::Ok, "").unwrap_err().kind(),
        ErrorKind::State
    );
    assert!(format!("{inv:?}").contains("ended: true"));
    // A new trace when there is no parent: random trace id, random flag.
    let fresh = Invocation::builder().begin().unwrap();
    let sc = fresh.span_context();
    assert!(sc.is_valid());
    assert_eq!(sc.trace_flags & 2, 2);
    // Reasons.
    assert_eq!(Reason::all().count() as u32, ptel::sys::PTEL_REASON_COUNT);
    for r in Reason::all() {
        assert_eq!(Reason::from_name(r.name()), Some(r));
        assert!(!r.message().is_empty());
        assert_eq!(r.to_string(), r.name());
    }
    assert_eq!(Reason(1000).message(), "unknown reason");
    assert_eq!(format!("{:?}", Reason(0)), "Reason(malformed)");
}

#[test]
fn aggregator_cumulative_and_delta() {
    let agg = Aggregator::new(
        AggregatorOptions::default()
            .cardinality_limit(2)
            .metric_limit(10),
    )
    .unwrap();
    assert!(format!("{agg:?}").contains("streams: 0"));
    let mut invs = Vec::new();
    for k in 0..3 {
        let (mut inv, mono) = begin(Decision::RecordAndSample, None);
        let payload = plugin(&inv, &mono, |rec| {
            let c = rec.i64_counter("hits").build();
            c.add(3, &[]);
            c.add(1, &[KeyValue::new("k", k)]);
        });
        inv.end(payload, Outcome::Ok, "").unwrap();
        agg.add(&inv).unwrap();
        invs.push(inv);
    }
    let st = agg.stats();
    assert_eq!((st.invocations, st.metrics), (3, 1));
    assert!(st.points_overflowed >= 1, "{st:?}"); // cardinality 2: overflow set
    let cum = ExportMetricsServiceRequest::decode(
        &agg.export(&Default::default(), Temporality::Cumulative)
            .unwrap()[..],
    )
    .unwrap();
    let m = &cum.resource_metrics[0].scope_metrics[0].metrics[0];
    match &m.data {
        Some(Data::Sum(s)) => {
            assert_eq!(s.aggregation_temporality, 2);
            let total: i64 = s
                .data_points
                .iter()
                .map(|p| match p.value {
                    Some(number_data_point::Value::AsInt(i)) => i,
                    _ => 0,
                })
                .sum();
            assert_eq!(total, 12);
            assert!(s.data_points.iter().any(|p| {
                p.attributes.iter().any(|a| {
                    a.key == "otel.metric.overflow"
                        && a.value.as_ref().unwrap().value == Some(Value::BoolValue(true))
                })
            }));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !agg.export(&Default::default(), Temporality::Delta)
            .unwrap()
            .is_empty()
    );
    assert!(
        agg.export(&Default::default(), Temporality::Delta)
            .unwrap()
            .is_empty()
    ); // nothing new
    // Concurrent adds and exports from several threads.
    let agg = Arc::new(agg);
    let inv = Arc::new(invs.pop().unwrap());
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (agg, inv) = (agg.clone(), inv.clone());
            s.spawn(move || {
                for _ in 0..25 {
                    agg.add(&inv).unwrap();
                    inv.export_traces(&Default::default()).unwrap();
                    agg.export(&Default::default(), Temporality::Cumulative)
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(agg.stats().invocations, 103);
}

#[test]
fn host_policy_defaults() {
    let p = HostPolicy::default();
    assert_eq!(p.time_slack_ns, 1_000_000_000);
    assert_eq!(p.time_policy, TimePolicy::Clamp);
    assert_eq!(p.reserved_keys, None);
    assert!(!p.accept_record_only);
    assert_eq!(p.limits, ptel::Limits::default());
}
