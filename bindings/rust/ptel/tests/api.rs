//! Every public function of the plugin side, with invalid input: contexts,
//! the recorder and its spans and instruments, W3C helpers, JSON, errors.
mod common;

use common::*;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use ptel::{
    AttrValue, Context, Decision, ErrorKind, KeyValue, Limits, Recorder, SpanContext, SpanKind,
    StatusCode,
};

fn ctx() -> Context {
    context(Decision::RecordAndSample, Limits::zero())
}

// ---- Send / Sync, checked at compile time ---------------------------------------

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

/// Resolves only when `T` is not `Sync` (the `u8` impl would make it ambiguous).
trait AmbiguousIfSync<A> {
    fn check() {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

#[test]
fn thread_safety_matches_the_c_objects() {
    assert_send::<Context>();
    assert_sync::<Context>();
    assert_sync::<ptel::ContextRef>();
    assert_send::<Recorder>();
    <Recorder as AmbiguousIfSync<_>>::check();
    assert_send::<ptel::Invocation>();
    assert_sync::<ptel::Invocation>();
    assert_send::<ptel::Aggregator>();
    assert_sync::<ptel::Aggregator>();
    assert_send::<ptel::Error>();
    assert_sync::<ptel::Error>();
    // A recorder moves to another thread and records there.
    let c = ctx();
    let handle = std::thread::spawn(move || {
        let (mut rec, _) = recorder(&c, true);
        rec.span("elsewhere");
        let n = rec.finish().len();
        (n, rec.take_errors())
    });
    let (n, errors) = handle.join().unwrap();
    assert!(n > 10);
    assert!(errors.is_empty());
}

// ---- contexts ---------------------------------------------------------------------

#[test]
fn context_from_w3c_keeps_flags_and_drops_bad_lists() {
    let c = Context::from_w3c(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
        "bad list!",
        "a=1",
    )
    .unwrap();
    let sc = c.span_context();
    assert_eq!(sc.trace_id, TRACE_ID);
    assert_eq!(sc.span_id, PARENT_ID);
    assert_eq!(sc.trace_flags, 3);
    assert!(sc.is_remote);
    assert_eq!(c.tracestate(), ""); // invalid: dropped, as W3C requires
    assert_eq!(c.baggage(), "a=1");
    assert_eq!(c.decision(), Decision::RecordAndSample);
    assert_eq!(c.protocol_version(), 1);
    for bad in [
        "",
        "00-",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ] {
        let e = Context::from_w3c(bad, "", "").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Traceparent, "{bad}");
    }
}

#[test]
fn context_decode_rejects_hostile_bytes() {
    let good = ctx().encode();
    assert_eq!(Context::decode(&good).unwrap().encode(), good);
    // Every truncation fails cleanly (cut inside a field, or a required
    // field missing) or, cut at a field boundary, is a valid shorter context.
    let mut failed = 0;
    for n in 0..good.len() {
        match Context::decode(&good[..n]) {
            Ok(c) => assert!(c.span_context().is_valid(), "{n}"),
            Err(e) => {
                failed += 1;
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Truncated | ErrorKind::Version | ErrorKind::InvalidId
                    ),
                    "{n}: {e}"
                );
            }
        }
    }
    assert!(failed >= 30, "{failed}");
    let e = Context::decode(&[0x08, 0x01, 0x12, 0x10]).unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::Truncated, 2));
    assert_eq!(
        Context::decode(&[0x0b]).unwrap_err().kind(),
        ErrorKind::Malformed
    ); // group
    assert_eq!(
        Context::decode(&vec![0u8; 70_000]).unwrap_err().kind(),
        ErrorKind::Limit
    );
    // Unknown fields are skipped.
    let mut extra = good.clone();
    extra.extend_from_slice(&[0xf8, 0x07, 0x05]); // field 127 varint
    assert_eq!(Context::decode(&extra).unwrap().encode(), good);
}

#[test]
fn context_builder_validates_every_field() {
    let p = SpanContext::new(TRACE_ID, PARENT_ID, 1);
    assert_eq!(
        Context::builder(SpanContext::new([0; 16], PARENT_ID, 1))
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidId
    );
    assert_eq!(
        Context::builder(SpanContext::new(TRACE_ID, [0; 8], 1))
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidId
    );
    assert_eq!(
        Context::builder(p)
            .protocol_version(0)
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Version
    );
    assert_eq!(
        Context::builder(p)
            .tracestate("a=1,B=2")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Tracestate
    );
    assert_eq!(
        Context::builder(p)
            .baggage("k=\\")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Baggage
    );
    let big = "x".repeat(70_000);
    assert_eq!(
        Context::builder(p)
            .plugin(&big, "")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::Limit
    );
    let c = Context::builder(p)
        .tracestate("b=1, a=2")
        .baggage("k = v")
        .decision(Decision::RecordOnly)
        .limits(Limits {
            span_count: 3,
            ..Limits::zero()
        })
        .time_base(7)
        .plugin("n", "v")
        .hook("h")
        .features(3)
        .build()
        .unwrap();
    assert_eq!((c.tracestate(), c.baggage()), ("b=1,a=2", "k=v"));
    assert_eq!(c.decision(), Decision::RecordOnly);
    assert_eq!(c.limits().span_count, 3);
    assert_eq!(
        (
            c.time_base_unix_nano(),
            c.plugin_name(),
            c.plugin_version(),
            c.hook(),
            c.features()
        ),
        (7, "n", "v", "h", 3)
    );
    assert!(format!("{c:?}").contains("RecordOnly"));
    assert_eq!(c.to_context().unwrap().encode(), c.encode());
    assert_eq!(
        c.traceparent(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
}

#[test]
fn context_env_carrier_round_trips_and_fails_without_fallback() {
    let c = ctx();
    let env = c.to_env();
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["TRACEPARENT", "PTEL_CONTEXT"]);
    let lookup = |env: Vec<(String, String)>| {
        move |n: &str| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    };
    assert_eq!(
        Context::from_env_with(lookup(env.clone()))
            .unwrap()
            .encode(),
        c.encode()
    );
    // No carrier at all.
    assert_eq!(
        Context::from_env_with(|_| None).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // An invalid PTEL_CONTEXT fails with its own error, no fallback to TRACEPARENT.
    let mut bad = env.clone();
    bad.last_mut().unwrap().1 = "!!!".into();
    assert_eq!(
        Context::from_env_with(lookup(bad)).unwrap_err().kind(),
        ErrorKind::Malformed
    );
    // A value with a NUL byte counts as unset; a panicking lookup too.
    assert_eq!(
        Context::from_env_with(|_| Some("a\0b".into()))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        Context::from_env_with(|_| panic!("lookup"))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    // The process environment (no carrier in the test environment).
    if std::env::var_os("PTEL_CONTEXT").is_none() && std::env::var_os("TRACEPARENT").is_none() {
        assert_eq!(Context::from_env().unwrap_err().kind(), ErrorKind::NotFound);
    }
}

#[test]
fn span_context_helpers() {
    let sc = SpanContext::new([0xab; 16], [0xcd; 8], 0x81);
    assert!(sc.is_valid() && sc.is_sampled());
    assert!(!SpanContext::new([0; 16], [1; 8], 1).is_valid());
    assert_eq!(
        sc.traceparent(),
        format!("00-{}-{}-01", "ab".repeat(16), "cd".repeat(8))
    );
    assert_eq!(sc.to_string(), sc.traceparent());
    assert_eq!((sc.trace_id_hex().len(), sc.span_id_hex().len()), (32, 16));
}

#[test]
fn limits_defaults_and_resolve() {
    let d = Limits::default();
    assert_eq!(
        (
            d.attribute_count,
            d.attribute_value_length,
            d.attribute_depth,
            d.event_count,
            d.link_count
        ),
        (128, 4096, 8, 128, 128)
    );
    assert_eq!(
        (
            d.span_count,
            d.metric_count,
            d.metric_cardinality,
            d.payload_bytes
        ),
        (1024, 256, 2000, 4 << 20)
    );
    let mut l = Limits {
        event_count: 2,
        ..Limits::zero()
    };
    l.resolve();
    assert_eq!((l.event_count, l.link_count), (2, 128));
}

// ---- recorder and spans -------------------------------------------------------------

#[test]
fn spans_nest_by_scope_and_end_on_drop() {
    let c = ctx();
    let (mut rec, mono) = recorder(&c, true);
    {
        let a = rec.span("a");
        mono.set(5);
        {
            let b = rec.span("b"); // child of a (active)
            let _c = b.child("c").kind(SpanKind::Client).start(); // child of b
            let d = rec.span_builder("d").root().start(); // child of the context's span
            let e = rec
                .span_builder("e")
                .parent(&a)
                .span_id([0xee; 8])
                .start_time(TIME_BASE + 1)
                .start();
            assert_eq!(e.context().span_id, [0xee; 8]);
            d.update_name("d2");
            e.end_at(TIME_BASE + 2);
        }
        assert!(a.is_recording());
    }
    assert_eq!(rec.now(), TIME_BASE + 5);
    let t = decode_telemetry(rec.finish());
    let by_name = |n: &str| {
        t.spans
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let (a, b, c, d, e) = (
        by_name("a"),
        by_name("b"),
        by_name("c"),
        by_name("d2"),
        by_name("e"),
    );
    assert_eq!(a.parent_span_id, PARENT_ID);
    assert_eq!(b.parent_span_id, a.span_id);
    assert_eq!(c.parent_span_id, b.span_id);
    assert_eq!(c.kind, 3);
    assert_eq!(d.parent_span_id, PARENT_ID);
    assert_eq!(e.parent_span_id, a.span_id);
    assert_eq!(
        (e.start_time_unix_nano, e.end_time_unix_nano),
        (TIME_BASE + 1, TIME_BASE + 2)
    );
    // End order: e, d, c, b, a (drops run in reverse declaration order).
    let order: Vec<&str> = t.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["e", "d2", "c", "b", "a"]);
    assert!(rec.take_errors().is_empty());
}

#[test]
fn typed_attributes_reach_the_wire() {
    let c = ctx();
    let (mut rec, _) = recorder(&c, true);
    let s = rec.span("attrs");
    let owned = String::from("owned");
    let inner = [KeyValue::new("deep", &[AttrValue::Bool(true)][..])];
    s.set_attribute("str", "v");
    s.set_attribute("string", &owned);
    s.set_attribute("i8", -8i8);
    s.set_attribute("u32", u32::MAX);
    s.set_attribute("u64", u64::MAX); // saturates
    s.set_attribute("usize", 3usize);
    s.set_attribute("f32", 0.5f32);
    s.set_attribute("none", None::<i64>);
    s.set_attribute("some", Some("x"));
    s.set_attribute("strs", &["a", "b"][..]);
    s.set_attribute("ints", &[1i64, 2][..]);
    s.set_attribute("dbls", &[0.25f64][..]);
    s.set_attribute("bools", &[true, false][..]);
    s.set_attribute("map", &inner[..]);
    s.set_attribute("empty", AttrValue::Empty);
    let many: Vec<String> = (0..40).map(|i| format!("many{i}")).collect();
    let kvs: Vec<KeyValue> = many.iter().map(|k| (k.as_str(), 1).into()).collect();
    s.set_attributes(&kvs); // more than one stack batch
    s.end();
    let t = decode_telemetry(rec.finish());
    let span = &t.spans[0];
    let get = |k: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == k)
            .unwrap()
            .value
            .clone()
            .and_then(|v| v.value)
    };
    assert_eq!(get("str"), Some(Value::StringValue("v".into())));
    assert_eq!(get("string"), Some(Value::StringValue("owned".into())));
    assert_eq!(get("i8"), Some(Value::IntValue(-8)));
    assert_eq!(get("u32"), Some(Value::IntValue(i64::from(u32::MAX))));
    assert_eq!(get("u64"), Some(Value::IntValue(i64::MAX)));
    assert_eq!(get("usize"), Some(Value::IntValue(3)));
    assert_eq!(get("f32"), Some(Value::DoubleValue(0.5)));
    assert_eq!(get("none"), None);
    assert_eq!(get("empty"), None);
    assert_eq!(get("some"), Some(Value::StringValue("x".into())));
    let arr = |k: &str| match get(k) {
        Some(Value::ArrayValue(a)) => a
            .values
            .into_iter()
            .map(|v| v.value.unwrap())
            .collect::<Vec<_>>(),
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(
        arr("strs"),
        [
            Value::StringValue("a".into()),
            Value::StringValue("b".into())
        ]
    );
    assert_eq!(arr("ints"), [Value::IntValue(1), Value::IntValue(2)]);
    assert_eq!(arr("dbls"), [Value::DoubleValue(0.25)]);
    assert_eq!(
        arr("bools"),
        [Value::BoolValue(true), Value::BoolValue(false)]
    );
    match get("map") {
        Some(Value::KvlistValue(m)) => assert_eq!(m.values[0].key, "deep"),
        other => panic!("{other:?}"),
    }
    assert_eq!(span.attributes.len(), 15 + 40);
}

#[test]
fn deep_values_are_bounded() {
    // 100 levels of nested arrays: lowering stops at 64, the core at its
    // attribute_depth limit; nothing overflows the stack and nothing fails.
    fn nest(depth: usize, v: AttrValue<'_>, span: &ptel::Span<'_>) {
        if depth == 0 {
            span.set_attribute("v", v);
        } else {
            let arr = [v];
            nest(depth - 1, AttrValue::Array(&arr), span);
        }
    }
    let c = ctx();
    let (mut rec, _) = recorder(&c, false);
    nest(100, AttrValue::Int(1), &rec.span("deep"));
    let t = decode_telemetry(rec.finish());
    assert_eq!(t.spans[0].attributes.len(), 1);
}

#[test]
fn events_links_status_errors() {
    let c = ctx();
    let (mut rec, mono) = recorder(&c, true);
    {
        let s = rec.span("s");
        mono.set(3);
        s.add_event("now", &[]);
        s.add_event_at("then", TIME_BASE + 1, &[KeyValue::new("k", 1)]);
        let many: Vec<KeyValue> = (0..20).map(|i| KeyValue::new("same", i)).collect();
        s.add_event("many", &many); // over the stack batch: one heap-lowered call
        s.add_link(&SpanContext::new([1; 16], [2; 8], 0), "", &[]);
        s.set_status(StatusCode::Unset, "ignored");
        let err = "x".parse::<i32>().unwrap_err();
        s.record_error(&err);
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("outer")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        s.record_error(&Outer(std::io::Error::other("inner")));
        s.record_exception_at("T", "m", None, TIME_BASE + 2);
    }
    let t = decode_telemetry(rec.finish());
    let s = &t.spans[0];
    let names: Vec<&str> = s.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["now", "then", "many", "exception", "exception", "exception"]
    );
    assert_eq!(s.events[0].time_unix_nano, TIME_BASE + 3);
    assert_eq!(s.events[1].time_unix_nano, TIME_BASE + 1);
    assert_eq!(s.events[2].attributes.len(), 1); // duplicate keys: last wins
    assert_eq!(
        str_attr(&s.events[3].attributes[0]),
        ("exception.type", "core::num::error::ParseIntError")
    );
    assert_eq!(
        str_attr(&s.events[3].attributes[1]),
        ("exception.message", "invalid digit found in string")
    );
    assert_eq!(s.events[3].attributes.len(), 2); // no source: no stacktrace
    assert_eq!(
        str_attr(&s.events[4].attributes[2]),
        ("exception.stacktrace", "caused by: inner")
    );
    assert_eq!(s.events[5].attributes.len(), 2);
    assert_eq!(s.events[5].time_unix_nano, TIME_BASE + 2);
    assert_eq!(s.links.len(), 1);
    let st = s.status.as_ref().unwrap();
    assert_eq!((st.code, st.message.as_str()), (2, "m"));
    assert!(rec.take_errors().is_empty());
}

#[test]
fn strict_mode_collects_errors_and_default_mode_counts_them() {
    for strict in [true, false] {
        let c = context(
            Decision::RecordAndSample,
            Limits {
                span_count: 1,
                ..Limits::zero()
            },
        );
        let (mut rec, _) = recorder(&c, strict);
        assert_eq!(rec.is_strict(), strict);
        {
            let s = rec.span("one");
            let refused = rec.span("two"); // span_count limit
            assert!(!refused.is_recording());
            assert_eq!(refused.context().trace_id, TRACE_ID);
            s.set_attribute("", 1); // empty key
            s.add_event("\u{0}ok", &[]);
            rec.i64_counter("bad name").build().add(1, &[]);
            rec.i64_counter("c").build().add(-1, &[]);
            rec.f64_histogram("h").build().record(f64::NAN, &[]);
            rec.i64_counter("k").build();
            rec.i64_gauge("k").build().record(1, &[]); // kind conflict
        }
        let d = rec.drops();
        let errors = rec.take_errors();
        if strict {
            let kinds: Vec<ErrorKind> = errors.iter().map(|e| e.kind()).collect();
            assert!(kinds.contains(&ErrorKind::Limit), "{kinds:?}");
            assert!(kinds.contains(&ErrorKind::Name), "{kinds:?}");
            assert!(kinds.contains(&ErrorKind::Value), "{kinds:?}");
            assert!(kinds.contains(&ErrorKind::Conflict), "{kinds:?}");
            assert!(
                kinds.contains(&ErrorKind::Utf8) || kinds.contains(&ErrorKind::InvalidArgument),
                "{kinds:?}"
            );
            assert!(rec.take_errors().is_empty()); // taken
        } else {
            assert!(errors.is_empty());
            assert_eq!(d.spans, 1);
            assert_eq!(d.metrics, 2); // invalid name, conflict
            assert_eq!(d.metric_points, 2); // negative counter, NaN histogram
            assert!(d.errors >= 1);
            let t = decode_telemetry(rec.finish());
            assert_eq!(t.dropped.spans, 1);
            assert_eq!(t.dropped.metrics, 2);
        }
    }
}

#[test]
fn drop_decision_is_free_and_still_propagates() {
    let c = context(Decision::Drop, Limits::zero());
    let (mut rec, _) = recorder(&c, true);
    assert!(!rec.is_recording());
    {
        let s = rec.span("x");
        assert!(!s.is_recording());
        s.set_attribute("a", 1);
        s.add_event("e", &[]);
        s.set_status(StatusCode::Error, "e");
        let sc = s.context();
        assert_eq!(sc.trace_id, TRACE_ID);
        assert_eq!(sc.span_id, PARENT_ID);
        assert!(!sc.is_sampled());
        let child = s.child("y").start();
        assert!(!child.is_recording());
        assert!(format!("{child:?}").contains("recording: false"));
    }
    assert_eq!(rec.finish(), [0x08, 0x01]);
    assert!(rec.take_errors().is_empty());
}

#[test]
fn record_only_records_without_sampling() {
    let c = context(Decision::RecordOnly, Limits::zero());
    let (mut rec, _) = recorder(&c, true);
    let sc = {
        let s = rec.span("r");
        rec.i64_counter("n").build().add(1, &[]);
        s.context()
    };
    assert!(!sc.is_sampled());
    let t = decode_telemetry(rec.finish());
    assert_eq!(t.spans.len(), 1);
    match &t.metrics[0].data {
        Some(Data::Sum(s)) => assert!(s.data_points[0].exemplars.is_empty()), // not sampled: no exemplar
        other => panic!("{other:?}"),
    }
}

#[test]
fn instruments_use_the_active_span_as_exemplar() {
    let c = ctx();
    let (mut rec, _) = recorder(&c, true);
    let sid = {
        let h = rec.i64_histogram("h").with_boundaries(&[]).build();
        let g = rec.f64_gauge("g").with_description("d").build();
        let u = rec.i64_up_down_counter("u").build();
        let fc = rec.f64_counter("fc").build();
        let s = rec.span("active");
        h.record(5, &[KeyValue::new("k", "v")]);
        g.record(f64::INFINITY, &[]);
        u.add(-2, &[]);
        fc.add(0.5, &[]);
        let other = SpanContext::new([9; 16], [9; 8], 1); // another trace: no exemplar
        u.add_with_context(1, &[], &other);
        fc.add_with_context(0.5, &[], &s.context());
        assert!(h.is_valid() && g.is_valid());
        assert!(format!("{h:?}").contains("valid: true"));
        s.context().span_id
    };
    let t = decode_telemetry(rec.finish());
    let names: Vec<&str> = t.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["h", "g", "u", "fc"]);
    match &t.metrics[0].data {
        Some(Data::Histogram(h)) => {
            let p = &h.data_points[0];
            assert!(p.explicit_bounds.is_empty());
            assert_eq!(p.bucket_counts, [1]);
            assert_eq!(p.exemplars[0].span_id, sid);
        }
        other => panic!("{other:?}"),
    }
    match &t.metrics[1].data {
        Some(Data::Gauge(g)) => assert_eq!(g.data_points[0].exemplars[0].span_id, sid),
        other => panic!("{other:?}"),
    }
    assert!(rec.take_errors().is_empty());
}

#[test]
fn finish_variants_and_reuse() {
    let c = ctx();
    let (mut rec, _) = recorder(&c, true);
    rec.span("s");
    let a = rec.finish().to_vec();
    assert_eq!(rec.finish(), &a[..]); // idempotent
    assert_eq!(rec.try_finish().unwrap(), &a[..]);
    let mut out = Vec::with_capacity(4);
    rec.finish_into(&mut out);
    assert_eq!(out, a);
    // After finish, recording is refused (strict: reported).
    rec.span("late");
    assert_eq!(rec.take_errors()[0].kind(), ErrorKind::State);
    rec.reset(&c);
    assert!(rec.is_recording());
    assert_eq!(rec.context().encode(), c.encode());
    let mut out2 = Vec::new();
    rec.finish_into(&mut out2);
    assert_eq!(out2, [0x08, 0x01]);
    // Reset under another decision.
    rec.reset(&context(Decision::Drop, Limits::zero()));
    assert!(!rec.is_recording());
    assert!(format!("{rec:?}").contains("recording: false"));
}

#[test]
fn recorder_new_with_the_system_clock() {
    let rec = Recorder::new(&Context::from_w3c(TRACEPARENT, "", "").unwrap());
    assert!(rec.now() > 1_600_000_000_000_000_000);
    let a = rec.span("a").context().span_id;
    let b = rec.span("b").context().span_id;
    assert_ne!(a, b);
    assert_ne!(a, [0; 8]);
}

#[test]
fn panicking_callbacks_never_cross_into_c() {
    struct BadClock;
    impl ptel::Clock for BadClock {
        fn monotonic_ns(&self) -> u64 {
            panic!("mono")
        }
        fn realtime_ns(&self) -> u64 {
            panic!("real")
        }
    }
    struct BadIds;
    impl ptel::IdGenerator for BadIds {
        fn fill(&self, _: &mut [u8]) {
            panic!("ids")
        }
    }
    let c = ctx();
    let mut rec = Recorder::builder(&c)
        .clock(BadClock)
        .id_generator(BadIds)
        .build()
        .unwrap();
    let id = rec.span("s").context().span_id;
    assert_ne!(id, [0; 8]); // the core's fallback generator took over
    let t = decode_telemetry(rec.finish());
    assert_eq!(t.spans.len(), 1);
}

// ---- W3C, JSON, errors, misc ----------------------------------------------------------

#[test]
fn w3c_helpers() {
    use ptel::w3c::*;
    let tp =
        Traceparent::parse(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09\t").unwrap();
    assert_eq!(
        (tp.version, tp.trace_id, tp.parent_id, tp.trace_flags),
        (0, TRACE_ID, PARENT_ID, 9)
    );
    assert_eq!(
        tp.format(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    let e = Traceparent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Traceparent);
    assert!(e.offset() >= 55);
    assert_eq!(normalize_tracestate("").unwrap(), "");
    assert_eq!(
        normalize_tracestate(&vec!["a=1"; 33].join(","))
            .unwrap_err()
            .kind(),
        ErrorKind::Tracestate
    );
    assert_eq!(tracestate_members(""), Vec::<(&str, &str)>::new());
    assert_eq!(tracestate_get("k@t=v", "k@t"), Some("v"));
    assert_eq!(normalize_baggage("").unwrap(), "");
    assert_eq!(
        normalize_baggage("k=v\u{e9}").unwrap_err().kind(),
        ErrorKind::Baggage
    );
    let ms = baggage_members("a=1;p;q=2,b=");
    assert_eq!(ms.len(), 2);
    assert_eq!(
        baggage_properties(ms[0].properties),
        vec![("p", None), ("q", Some("2"))]
    );
    assert_eq!(ms[1].value, "");
    assert_eq!(decode_baggage_value("%ff").unwrap(), "\u{fffd}");
    assert_eq!(
        decode_baggage_value("%4").unwrap_err().kind(),
        ErrorKind::Baggage
    );
    assert_eq!(encode_baggage_value(""), "");
    assert_eq!(
        decode_baggage_value(&encode_baggage_value("é ,;%\"\\")).unwrap(),
        "é ,;%\"\\"
    );
}

#[test]
fn json_render_and_doubles() {
    use ptel::json::{MessageType, format_double, render};
    let c = ctx();
    let j = render(MessageType::PluginContext, &c.encode()).unwrap();
    assert!(
        j.starts_with("{\"protocolVersion\":1,\"parent\"")
            || j.contains("\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\""),
        "{j}"
    );
    let j = render(MessageType::PluginTelemetry, &golden("tel_span_simple")).unwrap();
    assert!(j.contains("\"name\":\"handle\""), "{j}");
    assert_eq!(render(MessageType::Metric, &[]).unwrap(), "{}");
    let e = render(MessageType::Span, &[0x2a, 0x02, 0xff, 0xfe]).unwrap_err(); // name: invalid UTF-8
    assert_eq!(e.kind(), ErrorKind::Utf8);
    assert_eq!(e.field(), 5);
    assert_eq!(
        render(MessageType::TracesData, &[0x0a]).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    let deep: Vec<u8> = std::iter::repeat_n([0x0a, 0x00], 1).flatten().collect();
    assert!(render(MessageType::TracesData, &deep).is_ok());
    assert_eq!(format_double(f64::INFINITY), "\"Infinity\"");
    assert_eq!(format_double(-f64::INFINITY), "\"-Infinity\"");
    assert_eq!(format_double(1e-7), "1e-7");
    assert_eq!(format_double(5.0), "5");
}

#[test]
fn errors_map_every_status() {
    for &(name, code, msg) in ptel::sys::PTEL_STATUS_TABLE {
        if code == 0 {
            continue;
        }
        let k = ErrorKind::from_code(code);
        assert_ne!(k, ErrorKind::Unknown(code), "{name}");
        assert_eq!(k.code(), code);
        assert_eq!(k.name(), name);
        assert_eq!(k.message(), msg);
        let e = ptel::Error::from(k);
        assert_eq!(e.code(), code);
        assert_eq!(e.to_string(), msg);
    }
    let u = ErrorKind::from_code(-1000);
    assert_eq!(
        (u.code(), u.name(), u.message()),
        (-1000, "UNKNOWN", "unknown status")
    );
    let e = Context::decode(&[0x08, 0x01, 0x12, 0x01, 0x00]).unwrap_err();
    assert!(e.to_string().contains("(field 2, offset"), "{e}");
    let as_dyn: &dyn std::error::Error = &e;
    assert!(as_dyn.source().is_none());
}

#[test]
fn misc_public_items() {
    assert_eq!(ptel::version(), "0.1.0");
    assert_eq!(ptel::PROTOCOL_VERSION, 1);
    let b = ptel::default_histogram_bounds();
    assert_eq!(
        b,
        [
            0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0,
            7500.0, 10000.0
        ]
    );
    let kv: KeyValue = ("k", 1.5).into();
    assert_eq!(kv.value, AttrValue::Double(1.5));
    assert_eq!(AttrValue::from(&[1u8, 2][..]), AttrValue::Bytes(&[1, 2]));
    assert_eq!(AttrValue::from(-3isize), AttrValue::Int(-3));
    assert_eq!(AttrValue::from(7u16), AttrValue::Int(7));
    assert_eq!(AttrValue::from(usize::MAX), AttrValue::Int(i64::MAX));
}
