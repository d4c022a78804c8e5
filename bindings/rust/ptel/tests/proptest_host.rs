//! Property tests of the host decode path: random bytes and mutated golden
//! payloads go through invocation end, export, JSON and aggregation; nothing
//! may fail or crash, and what is exported must keep the invariants the
//! validator promises. PROPTEST_CASES sets the number of cases (256 here by
//! default; `make test-rust` runs a brief pass).
mod common;

use std::collections::HashSet;

use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;
use prost::Message;
use ptel::json::{MessageType, render};
use ptel::{Aggregator, Invocation, Outcome, SpanContext};

const GOLDEN: [&str; 6] = [
    "tel_span_simple",
    "tel_attribute_types",
    "tel_events_links",
    "tel_metrics",
    "tel_limits",
    "tel_dropped",
];

fn invocation() -> (Invocation, Mono) {
    let mono = Mono::default();
    let inv = Invocation::builder()
        .parent(SpanContext::new(TRACE_ID, [0x77; 8], 1))
        .span_id(PARENT_ID) // the golden payloads' parent
        .plugin("pii_filter", "1.0.0")
        .clock(FakeClock(mono.clone()))
        .id_generator(CountingIds::default())
        .begin()
        .unwrap();
    (inv, mono)
}

/// Validate `payload` and check the invariants of everything exported.
fn check(payload: Vec<u8>, outcome: Outcome) -> ptel::Report {
    let (mut inv, mono) = invocation();
    mono.set(2_000);
    let report = inv
        .end(payload, outcome, "")
        .expect("end never fails on a payload");
    let traces = inv
        .export_traces(&Default::default())
        .expect("export traces");
    let req = ExportTraceServiceRequest::decode(&traces[..]).expect("exported traces decode");
    let scopes = &req.resource_spans[0].scope_spans;
    let host = &scopes[0].spans[0];
    assert_eq!(host.span_id, PARENT_ID);
    let plugin_spans: Vec<_> = scopes.iter().skip(1).flat_map(|s| s.spans.iter()).collect();
    if report.rejected {
        assert!(plugin_spans.is_empty());
        assert!(report.first.is_some());
    }
    assert_eq!(plugin_spans.len() as u32, report.spans_accepted);
    let ids: HashSet<&[u8]> = plugin_spans.iter().map(|s| &s.span_id[..]).collect();
    assert_eq!(ids.len(), plugin_spans.len(), "span ids unique");
    for s in &plugin_spans {
        assert_eq!(s.trace_id, TRACE_ID);
        assert_eq!(s.span_id.len(), 8);
        assert_ne!(s.span_id, [0; 8]);
        assert_ne!(s.span_id, PARENT_ID);
        assert!(
            s.parent_span_id == PARENT_ID || ids.contains(&s.parent_span_id[..]),
            "parent known"
        );
        assert!(s.end_time_unix_nano >= s.start_time_unix_nano);
        assert!(s.kind <= 5);
        assert!(s.attributes.len() <= 128 && s.events.len() <= 128 && s.links.len() <= 128);
    }
    render(MessageType::TracesData, &traces).expect("exported traces render as JSON");
    let metrics = inv
        .export_metrics(&Default::default())
        .expect("export metrics");
    let mreq = ExportMetricsServiceRequest::decode(&metrics[..]).expect("exported metrics decode");
    let n: usize = mreq
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .map(|s| s.metrics.len())
        .sum();
    assert_eq!(n as u32, report.metrics_accepted);
    render(MessageType::MetricsData, &metrics).expect("exported metrics render as JSON");
    let agg = Aggregator::new(Default::default()).unwrap();
    agg.add(&inv).expect("aggregate");
    let cum = agg
        .export(&Default::default(), ptel::Temporality::Cumulative)
        .expect("aggregator export");
    ExportMetricsServiceRequest::decode(&cum[..]).expect("aggregated metrics decode");
    let _ = report.to_json();
    report
}

#[test]
fn golden_payloads_are_accepted_whole() {
    for name in GOLDEN {
        let report = check(golden(name), Outcome::Ok);
        assert!(!report.rejected, "{name}");
        assert_eq!(
            (
                report.spans_dropped,
                report.metrics_dropped,
                report.points_dropped
            ),
            (0, 0, 0),
            "{name}"
        );
    }
    assert_eq!(ptel::__allocator_size_mismatches(), 0);
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(mut data: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if data.is_empty() {
            break;
        }
        let at = |i: usize| i % data.len();
        match *m {
            Mutation::Flip(i, x) => {
                let i = at(i);
                data[i] ^= x;
            }
            Mutation::Insert(i, b) => {
                let i = at(i);
                data.insert(i, b);
            }
            Mutation::Delete(i) => {
                let i = at(i);
                data.remove(i);
            }
            Mutation::Truncate(i) => {
                let i = at(i);
                data.truncate(i);
            }
            Mutation::Duplicate(i, n) => {
                let i = at(i);
                let end = (i + n).min(data.len());
                let chunk = data[i..end].to_vec();
                data.splice(i..i, chunk);
            }
        }
    }
    data
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Ok),
        Just(Outcome::Error),
        Just(Outcome::Timeout),
        Just(Outcome::Crash)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_break_the_host(data in proptest::collection::vec(any::<u8>(), 0..1024), o in outcome()) {
        check(data, o);
    }

    #[test]
    fn random_bytes_after_a_valid_header(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut payload = vec![0x08, 0x01];
        payload.extend(data);
        check(payload, Outcome::Ok);
    }

    #[test]
    fn mutated_golden_payloads_keep_the_invariants(
        which in 0..GOLDEN.len(),
        muts in proptest::collection::vec(mutation(), 1..6),
        o in outcome(),
    ) {
        check(apply(golden(GOLDEN[which]), &muts), o);
    }

    #[test]
    fn mutated_contexts_decode_or_fail_cleanly(muts in proptest::collection::vec(mutation(), 1..6)) {
        let data = apply(golden("ctx_full"), &muts);
        if let Ok(ctx) = ptel::Context::decode(&data) {
            // Whatever decodes re-encodes canonically and decodes to the same.
            let again = ptel::Context::decode(&ctx.encode()).unwrap();
            prop_assert_eq!(again.encode(), ctx.encode());
            let mut rec = ptel::Recorder::new(&ctx);
            rec.span("s");
            prop_assert!(rec.finish().len() >= 2);
        }
    }
}
