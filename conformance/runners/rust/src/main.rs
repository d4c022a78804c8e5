//! The Rust conformance runner: executes conformance/vectors through the
//! safe `ptel` crate (Recorder, spans, instruments, Invocation, w3c) and
//! writes the results JSON of conformance/README.md section 7.
//!
//! `ptel-conformance <vectors-dir> <results.json> [expected-failures.json]`
mod json;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use json::Json;
use ptel::{
    AttrValue, Context, Counter, Decision, ExportOptions, Gauge, Histogram, HostPolicy, Invocation,
    KeyValue, Limits, Outcome, Recorder, Span, SpanContext, SpanKind, StatusCode, TimePolicy,
    UpDownCounter,
};

const RUNTIME: &str = "rust";
const DEFAULT_T: u64 = 1_000_000_000_000;

type Res<T> = Result<T, String>;

/// README section 2: mono moves only when told; realtime = T + mono.
struct CaseClock {
    mono: Arc<AtomicU64>,
    base: u64,
}

impl ptel::Clock for CaseClock {
    fn monotonic_ns(&self) -> u64 {
        self.mono.load(Ordering::Relaxed)
    }
    fn realtime_ns(&self) -> u64 {
        self.base + self.mono.load(Ordering::Relaxed)
    }
}

/// README section 2: n-1 zero bytes and then the counter k.
#[derive(Default)]
struct CaseIds(AtomicU8);

impl ptel::IdGenerator for CaseIds {
    fn fill(&self, out: &mut [u8]) {
        out.fill(0);
        if let Some(last) = out.last_mut() {
            *last = self.0.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        }
    }
}

// ---- typed values (README 1.1); leaked: the runner is short-lived ------------

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn parse_double(s: &str) -> Res<f64> {
    match s {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|_| format!("bad double {s:?}")),
    }
}

fn b64(s: &str) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => continue,
            _ => return Err(format!("bad base64 {s:?}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

fn value(v: &Json) -> Res<AttrValue<'static>> {
    let Json::Obj(m) = v else {
        return Err("typed value is not an object".into());
    };
    let Some((kind, x)) = m.iter().next() else {
        return Err("empty typed value".into());
    };
    let s = || x.str().ok_or_else(|| format!("{kind}: not a string"));
    Ok(match kind.as_str() {
        "string" => AttrValue::Str(leak_str(s()?)),
        "bool" => AttrValue::Bool(x.bool().ok_or("bool")?),
        "int" => AttrValue::Int(s()?.parse().map_err(|_| "bad int")?),
        "double" => AttrValue::Double(parse_double(s()?)?),
        "bytes_b64" => AttrValue::Bytes(Box::leak(b64(s()?)?.into_boxed_slice())),
        "array" => {
            let items = x.arr().iter().map(value).collect::<Res<Vec<_>>>()?;
            AttrValue::Array(Box::leak(items.into_boxed_slice()))
        }
        "kvlist" => AttrValue::Map(attrs(Some(x))?),
        "empty" => AttrValue::Empty,
        _ => return Err(format!("unknown typed value {kind}")),
    })
}

fn attrs(v: Option<&Json>) -> Res<&'static [KeyValue<'static>]> {
    let mut out = Vec::new();
    for a in v.map(Json::arr).unwrap_or(&[]) {
        let key = leak_str(a.get("key").and_then(Json::str).ok_or("attr key")?);
        let value = value(a.get("value").ok_or("attr value")?)?;
        out.push(KeyValue { key, value });
    }
    Ok(Box::leak(out.into_boxed_slice()))
}

fn unhex(s: &str) -> Res<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| format!("bad hex {s:?}")))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn first_diff(got: &[u8], want: &[u8]) -> String {
    let n = got.iter().zip(want).take_while(|(a, b)| a == b).count();
    format!(
        "differs at byte {n} (got {} bytes, want {})",
        got.len(),
        want.len()
    )
}

fn gs<'a>(o: &'a Json, k: &str) -> &'a str {
    o.get(k).and_then(Json::str).unwrap_or("")
}

fn gu(o: &Json, k: &str) -> Option<u64> {
    o.get(k).and_then(Json::u64)
}

fn limits(v: Option<&Json>) -> Res<Limits> {
    let mut l = Limits::zero();
    if let Some(Json::Obj(m)) = v {
        for (k, n) in m {
            let n = u32::try_from(n.u64().ok_or("limit")?).map_err(|_| "limit range")?;
            let f = match k.as_str() {
                "attribute_count" => &mut l.attribute_count,
                "attribute_value_length" => &mut l.attribute_value_length,
                "attribute_depth" => &mut l.attribute_depth,
                "event_count" => &mut l.event_count,
                "link_count" => &mut l.link_count,
                "attributes_per_event" => &mut l.attributes_per_event,
                "attributes_per_link" => &mut l.attributes_per_link,
                "span_count" => &mut l.span_count,
                "metric_count" => &mut l.metric_count,
                "metric_cardinality" => &mut l.metric_cardinality,
                "payload_bytes" => &mut l.payload_bytes,
                _ => return Err(format!("unknown limit {k}")),
            };
            *f = n;
        }
    }
    Ok(l)
}

fn decision(s: &str) -> Res<Decision> {
    match s {
        "drop" => Ok(Decision::Drop),
        "record_only" => Ok(Decision::RecordOnly),
        "record_and_sample" | "" => Ok(Decision::RecordAndSample),
        _ => Err(format!("decision {s}")),
    }
}

// ---- scenarios (README 3) -------------------------------------------------------

enum Inst<'r> {
    CounterI(Counter<'r, i64>),
    CounterF(Counter<'r, f64>),
    UpDownI(UpDownCounter<'r, i64>),
    UpDownF(UpDownCounter<'r, f64>),
    GaugeI(Gauge<'r, i64>),
    GaugeF(Gauge<'r, f64>),
    HistI(Histogram<'r, i64>),
    HistF(Histogram<'r, f64>),
}

enum Num {
    I(i64),
    F(f64),
}

fn run_scenario(case: &Json) -> Res<()> {
    let c = case.get("context").ok_or("context")?;
    let base = gu(c, "time_base_unix_nano").unwrap_or(DEFAULT_T);
    let tp = ptel::w3c::Traceparent::parse(gs(c, "traceparent")).map_err(|e| e.to_string())?;
    let parent = SpanContext {
        trace_id: tp.trace_id,
        span_id: tp.parent_id,
        trace_flags: tp.trace_flags,
        is_remote: true,
    };
    let ctx = Context::builder(parent)
        .tracestate(gs(c, "tracestate"))
        .baggage(gs(c, "baggage"))
        .decision(decision(gs(c, "decision"))?)
        .limits(limits(c.get("limits"))?)
        .time_base(base)
        .plugin(gs(c, "plugin_name"), gs(c, "plugin_version"))
        .hook(gs(c, "hook"))
        .build()
        .map_err(|e| format!("context: {e}"))?;
    let mono = Arc::new(AtomicU64::new(0));
    let mut rec = Recorder::builder(&ctx)
        .clock(CaseClock {
            mono: mono.clone(),
            base,
        })
        .id_generator(CaseIds::default())
        .build()
        .map_err(|e| format!("recorder: {e}"))?;
    let want = unhex(
        case.get("expected")
            .map(|e| gs(e, "payload_hex"))
            .unwrap_or(""),
    )?;
    let want_json = case.get("expected").map(|e| gs(e, "json")).unwrap_or("");
    let mut finished = false;
    let result: Res<()> = {
        let r = &rec;
        let mut live: HashMap<String, Span<'_>> = HashMap::new();
        let mut ended: HashMap<String, SpanContext> = HashMap::new();
        let mut insts: HashMap<String, Inst<'_>> = HashMap::new();
        let mut result = Ok(());
        for op in case.get("ops").map(Json::arr).unwrap_or(&[]) {
            let name = gs(op, "op");
            let span_ref = gs(op, "span");
            let need_live = |live: &HashMap<String, Span<'_>>,
                             ended: &HashMap<String, SpanContext>|
             -> Res<()> {
                if live.contains_key(span_ref) {
                    Ok(())
                } else if ended.contains_key(span_ref) {
                    Err(format!(
                        "{name} on an ended span: a Rust Span is consumed by end()"
                    ))
                } else {
                    Err(format!("unknown span {span_ref}"))
                }
            };
            let time = gu(op, "time");
            let r2: Res<()> = (|| {
                match name {
                    "start_span" => {
                        let kind = match gs(op, "kind") {
                            "" | "internal" => SpanKind::Internal,
                            "server" => SpanKind::Server,
                            "client" => SpanKind::Client,
                            "producer" => SpanKind::Producer,
                            "consumer" => SpanKind::Consumer,
                            k => return Err(format!("SpanKind has no {k:?} variant")),
                        };
                        let nm = leak_str(gs(op, "name"));
                        let mut b = r.span_builder(nm).kind(kind);
                        let p = gs(op, "parent");
                        if p.is_empty() {
                            b = b.root();
                        } else if let Some(ps) = live.get(p) {
                            b = b.parent(ps);
                        } else {
                            return Err(format!(
                                "parent {p} has ended: SpanBuilder::parent takes a live Span"
                            ));
                        }
                        if let Some(t) = time {
                            b = b.start_time(t);
                        }
                        let s = b.start();
                        live.insert(gs(op, "ref").to_owned(), s);
                    }
                    "set_attributes" => {
                        need_live(&live, &ended)?;
                        live[span_ref].set_attributes(attrs(op.get("attrs"))?);
                    }
                    "add_event" => {
                        need_live(&live, &ended)?;
                        let a = attrs(op.get("attrs"))?;
                        let s = &live[span_ref];
                        match time {
                            Some(t) => s.add_event_at(gs(op, "name"), t, a),
                            None => s.add_event(gs(op, "name"), a),
                        }
                    }
                    "add_link" => {
                        need_live(&live, &ended)?;
                        let to = gs(op, "to");
                        let target = if !to.is_empty() {
                            match (live.get(to), ended.get(to)) {
                                (Some(s), _) => s.context(),
                                (None, Some(sc)) => *sc,
                                _ => return Err(format!("unknown span {to}")),
                            }
                        } else {
                            let mut t = SpanContext {
                                trace_id: [0; 16],
                                span_id: [0; 8],
                                trace_flags: gu(op, "trace_flags").unwrap_or(0) as u8,
                                is_remote: false,
                            };
                            let tid = unhex(gs(op, "trace_id"))?;
                            let sid = unhex(gs(op, "span_id"))?;
                            if tid.len() != 16 || sid.len() != 8 {
                                return Err("link id length".into());
                            }
                            t.trace_id.copy_from_slice(&tid);
                            t.span_id.copy_from_slice(&sid);
                            t
                        };
                        live[span_ref].add_link(
                            &target,
                            gs(op, "tracestate"),
                            attrs(op.get("attrs"))?,
                        );
                    }
                    "set_status" => {
                        need_live(&live, &ended)?;
                        let code = match gs(op, "code") {
                            "ok" => StatusCode::Ok,
                            "error" => StatusCode::Error,
                            _ => StatusCode::Unset,
                        };
                        live[span_ref].set_status(code, gs(op, "description"));
                    }
                    "record_exception" => {
                        need_live(&live, &ended)?;
                        // Absent = "" (a present, empty stacktrace), as the C runner passes it.
                        let st = Some(op.get("stacktrace").and_then(Json::str).unwrap_or(""));
                        let s = &live[span_ref];
                        match time {
                            Some(t) => {
                                s.record_exception_at(gs(op, "type"), gs(op, "message"), st, t)
                            }
                            None => s.record_exception(gs(op, "type"), gs(op, "message"), st),
                        }
                    }
                    "update_name" => {
                        need_live(&live, &ended)?;
                        live[span_ref].update_name(gs(op, "name"));
                    }
                    "end_span" => {
                        need_live(&live, &ended)?;
                        let s = live.remove(span_ref).expect("checked");
                        ended.insert(span_ref.to_owned(), s.context());
                        match time {
                            Some(t) => s.end_at(t),
                            None => s.end(),
                        }
                    }
                    "advance" => {
                        mono.fetch_add(gu(op, "ns").unwrap_or(0), Ordering::Relaxed);
                    }
                    "metric" => {
                        let nm = leak_str(gs(op, "name"));
                        let unit = leak_str(gs(op, "unit"));
                        let desc = leak_str(gs(op, "description"));
                        let bounds: Option<&'static [f64]> = match op.get("bounds") {
                            Some(b) => Some(Box::leak(
                                b.arr()
                                    .iter()
                                    .map(|x| x.f64().ok_or("bound"))
                                    .collect::<Result<Vec<_>, _>>()?
                                    .into_boxed_slice(),
                            )),
                            None => None,
                        };
                        let is_int = gs(op, "number_type") == "int";
                        macro_rules! build {
                            ($ctor:ident, $v:ident) => {{
                                let mut b = r.$ctor(nm).with_unit(unit).with_description(desc);
                                if let Some(bs) = bounds {
                                    b = b.with_boundaries(bs);
                                }
                                Inst::$v(b.build())
                            }};
                        }
                        let inst = match (gs(op, "kind"), is_int) {
                            ("counter", true) => build!(i64_counter, CounterI),
                            ("counter", false) => build!(f64_counter, CounterF),
                            ("updown_counter", true) => build!(i64_up_down_counter, UpDownI),
                            ("updown_counter", false) => build!(f64_up_down_counter, UpDownF),
                            ("gauge", true) => build!(i64_gauge, GaugeI),
                            ("gauge", false) => build!(f64_gauge, GaugeF),
                            ("histogram", true) => build!(i64_histogram, HistI),
                            ("histogram", false) => build!(f64_histogram, HistF),
                            (k, _) => return Err(format!("metric kind {k}")),
                        };
                        insts.insert(gs(op, "ref").to_owned(), inst);
                    }
                    "record" => {
                        let inst = insts.get(gs(op, "metric")).ok_or("unknown metric")?;
                        let v = op.get("value").ok_or("value")?;
                        let num = if let Some(i) = v.get("int") {
                            Num::I(i.str().ok_or("int")?.parse().map_err(|_| "bad int")?)
                        } else {
                            Num::F(parse_double(
                                v.get("double").and_then(Json::str).ok_or("double")?,
                            )?)
                        };
                        let a = attrs(op.get("attrs"))?;
                        let sref = gs(op, "span");
                        let span = if sref.is_empty() {
                            None
                        } else {
                            live.get(sref)
                        };
                        if !sref.is_empty() && span.is_none() {
                            if ended.contains_key(sref) {
                                return Err("the exemplar span has ended: record_with_span takes a live Span".into());
                            }
                            return Err(format!("unknown span {sref}"));
                        }
                        match (inst, num) {
                            (Inst::CounterI(m), Num::I(x)) => m.add_with_span(x, a, span),
                            (Inst::CounterF(m), Num::F(x)) => m.add_with_span(x, a, span),
                            (Inst::UpDownI(m), Num::I(x)) => m.add_with_span(x, a, span),
                            (Inst::UpDownF(m), Num::F(x)) => m.add_with_span(x, a, span),
                            (Inst::GaugeI(m), Num::I(x)) => m.record_with_span(x, a, span),
                            (Inst::GaugeF(m), Num::F(x)) => m.record_with_span(x, a, span),
                            (Inst::HistI(m), Num::I(x)) => m.record_with_span(x, a, span),
                            (Inst::HistF(m), Num::F(x)) => m.record_with_span(x, a, span),
                            _ => {
                                return Err("typed instruments: a value of the other number type cannot be recorded".into());
                            }
                        }
                    }
                    "finish" => finished = true,
                    _ => return Err(format!("unknown op {name}")),
                }
                Ok(())
            })();
            if let Err(e) = r2 {
                result = Err(e);
                break;
            }
        }
        // Spans still open are reported as open spans: a Rust Span ends on
        // drop, so forget them (the recorder owns the C span).
        for (_, s) in live.drain() {
            std::mem::forget(s);
        }
        drop(insts);
        result
    };
    result?;
    if !finished {
        return Err("no finish op".into());
    }
    let payload = rec.finish().to_vec();
    if payload != want {
        return Err(format!("payload {}", first_diff(&payload, &want)));
    }
    let got_json = if payload.is_empty() {
        String::new()
    } else {
        ptel::json::render(ptel::json::MessageType::PluginTelemetry, &payload)
            .map_err(|e| format!("render: {e}"))?
    };
    if got_json != want_json {
        return Err("json differs".into());
    }
    Ok(())
}

// ---- host (README 4) ------------------------------------------------------------

fn run_host(case: &Json) -> Res<()> {
    let empty = Json::Obj(BTreeMap::new());
    let iv = case.get("invocation").unwrap_or(&empty);
    let mono = Arc::new(AtomicU64::new(0));
    let mut b = Invocation::builder()
        .tracestate(gs(iv, "tracestate"))
        .baggage(gs(iv, "baggage"))
        .decision(decision(gs(iv, "decision"))?)
        .plugin(gs(iv, "plugin_name"), gs(iv, "plugin_version"))
        .hook(gs(iv, "hook"))
        .span_name(gs(iv, "span_name"))
        .start_time(gu(iv, "start_unix_nano").unwrap_or(DEFAULT_T))
        .features(gu(iv, "features").unwrap_or(0))
        .remote(
            iv.get("context_is_remote")
                .and_then(Json::bool)
                .unwrap_or(false),
        )
        .attributes(attrs(iv.get("attrs"))?)
        .clock(CaseClock {
            mono: mono.clone(),
            base: DEFAULT_T,
        })
        .id_generator(CaseIds::default());
    if let Some(p) = iv.get("parent") {
        let mut sc = SpanContext {
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_flags: gu(p, "trace_flags").unwrap_or(0) as u8,
            is_remote: true, // as the C runner
        };
        sc.trace_id.copy_from_slice(&unhex(gs(p, "trace_id"))?);
        sc.span_id.copy_from_slice(&unhex(gs(p, "span_id"))?);
        b = b.parent(sc);
    }
    let sid = gs(iv, "span_id");
    if !sid.is_empty() {
        let mut id = [0u8; 8];
        id.copy_from_slice(&unhex(sid)?);
        b = b.span_id(id);
    }
    let policy;
    if let Some(p) = iv.get("policy") {
        let mut hp = HostPolicy {
            limits: limits(p.get("limits"))?,
            ..Default::default()
        };
        if let Some(s) = gu(p, "time_slack_ns") {
            hp.time_slack_ns = s;
        }
        if gs(p, "time_policy") == "reject" {
            hp.time_policy = TimePolicy::Reject;
        }
        hp.accept_record_only = p
            .get("accept_record_only")
            .and_then(Json::bool)
            .unwrap_or(false);
        if let Some(keys) = p.get("reserved_keys") {
            hp.reserved_keys = Some(
                keys.arr()
                    .iter()
                    .map(|k| k.str().unwrap_or("").to_owned())
                    .collect(),
            );
        }
        policy = hp;
        b = b.policy(Box::leak(Box::new(policy)));
    }
    let mut inv = b.begin().map_err(|e| format!("begin: {e}"))?;
    mono.store(
        gu(iv, "duration_ns").unwrap_or(1_000_000),
        Ordering::Relaxed,
    );
    let outcome = match gs(case, "outcome") {
        "error" => Outcome::Error,
        "timeout" => Outcome::Timeout,
        "crash" => Outcome::Crash,
        _ => Outcome::Ok,
    };
    let exp = case.get("expected").ok_or("expected")?;
    let res = inv.end(
        unhex(gs(case, "payload_hex"))?,
        outcome,
        gs(case, "error_type"),
    );
    let (status, report) = match &res {
        Ok(r) if r.rejected => ("E_REJECTED".to_owned(), Some(r)),
        Ok(r) => ("OK".to_owned(), Some(r)),
        Err(e) => (e.kind().name().to_owned(), None),
    };
    if status != gs(exp, "status") {
        return Err(format!("status {status}, want {}", gs(exp, "status")));
    }
    if let (Some(r), Some(want)) = (report, exp.get("report")) {
        let got = json::parse(&r.to_json())?;
        if !json_eq(&got, want) {
            return Err(format!("report {}", r.to_json()));
        }
    }
    let e = case.get("export").unwrap_or(&empty);
    let default_res = [KeyValue {
        key: "service.name",
        value: AttrValue::Str("conformance"),
    }];
    let resource: &[KeyValue<'_>] = if e.get("resource").is_some() {
        attrs(e.get("resource"))?
    } else {
        &default_res
    };
    let opts = ExportOptions {
        resource,
        schema_url: "",
        host_scope_name: e
            .get("host_scope_name")
            .and_then(Json::str)
            .unwrap_or("ptel"),
        host_scope_version: e
            .get("host_scope_version")
            .and_then(Json::str)
            .unwrap_or("conformance"),
        include_invocation_span: e
            .get("include_invocation_span")
            .and_then(Json::bool)
            .unwrap_or(true),
    };
    let tr = inv
        .export_traces(&opts)
        .map_err(|e| format!("export traces: {e}"))?;
    let want_t = unhex(gs(exp, "traces_hex"))?;
    if tr != want_t {
        return Err(format!("traces {}", first_diff(&tr, &want_t)));
    }
    let me = inv
        .export_metrics(&opts)
        .map_err(|e| format!("export metrics: {e}"))?;
    let want_m = unhex(gs(exp, "metrics_hex"))?;
    if me != want_m {
        return Err(format!("metrics {}", first_diff(&me, &want_m)));
    }
    Ok(())
}

/// JSON equality with numbers compared by value (1 == 1.0).
fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Num(x), Json::Num(y)) => x == y || x.parse::<f64>().ok() == y.parse::<f64>().ok(),
        (Json::Arr(x), Json::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Json::Obj(x), Json::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

// ---- W3C (README 5) ---------------------------------------------------------------

fn run_w3c(case: &Json) -> Res<()> {
    let input = match case.get("input").and_then(Json::str) {
        Some(s) => s.to_owned(),
        None => {
            let raw = unhex(gs(case, "input_hex"))?;
            String::from_utf8(raw).map_err(|_| {
                "the w3c functions take &str: non-UTF-8 input cannot be passed".to_string()
            })?
        }
    };
    let exp = case.get("expected").ok_or("expected")?;
    let valid = exp.get("valid").and_then(Json::bool).unwrap_or(false);
    match gs(case, "header") {
        "traceparent" => match ptel::w3c::Traceparent::parse(&input) {
            Err(e) if valid => Err(format!("refused a valid traceparent: {e}")),
            Err(_) => Ok(()),
            Ok(_) if !valid => Err("accepted an invalid traceparent".into()),
            Ok(tp) => {
                let got = format!(
                    "{} {} {} {}",
                    tp.version,
                    hex(&tp.trace_id),
                    hex(&tp.parent_id),
                    tp.trace_flags
                );
                let want = format!(
                    "{} {} {} {}",
                    gu(exp, "version").unwrap_or(0),
                    gs(exp, "trace_id"),
                    gs(exp, "parent_id"),
                    gu(exp, "trace_flags").unwrap_or(0)
                );
                if got != want {
                    Err(format!("parsed {got}, want {want}"))
                } else {
                    Ok(())
                }
            }
        },
        h @ ("tracestate" | "baggage") => {
            let r = if h == "tracestate" {
                ptel::w3c::normalize_tracestate(&input)
            } else {
                ptel::w3c::normalize_baggage(&input)
            };
            match r {
                Err(e) if valid => Err(format!("refused a valid {h}: {e}")),
                Err(_) => Ok(()),
                Ok(s) if !valid => Err(format!("accepted an invalid {h} as {s:?}")),
                Ok(s) if s != gs(exp, "normalized") => Err(format!(
                    "normalized {s:?}, want {:?}",
                    gs(exp, "normalized")
                )),
                Ok(_) => Ok(()),
            }
        }
        h => Err(format!("unknown header {h}")),
    }
}

// ---- driver ---------------------------------------------------------------------------

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[derive(Default)]
struct Counts {
    passed: u64,
    expected_fail: u64,
    failed: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: ptel-conformance <vectors-dir> <results.json> [expected-failures.json]");
        std::process::exit(2);
    }
    let vectors = PathBuf::from(&args[1]);
    let xf_path = args.get(3).map(PathBuf::from).unwrap_or_else(|| {
        vectors
            .join("..")
            .join("expected-failures")
            .join(format!("{RUNTIME}.json"))
    });
    let mut xfail: HashMap<String, String> = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(&xf_path) {
        let doc = json::parse(&text).unwrap_or_else(|e| {
            eprintln!("{}: {e}", xf_path.display());
            std::process::exit(2)
        });
        for e in doc.get("entries").map(Json::arr).unwrap_or(&[]) {
            xfail.insert(gs(e, "case").to_owned(), gs(e, "reason").to_owned());
        }
    }
    let mut files = Vec::new();
    json_files(&vectors, &mut files);
    files.sort();
    let mut columns: BTreeMap<String, Counts> = BTreeMap::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| {
            eprintln!("{}: {e}", f.display());
            std::process::exit(2)
        });
        let doc = json::parse(&text).unwrap_or_else(|e| {
            eprintln!("{}: {e}", f.display());
            std::process::exit(2)
        });
        let group = gs(&doc, "group").to_owned();
        let run: fn(&Json) -> Res<()> = match group.split('/').next() {
            Some("scenarios") => run_scenario,
            Some("host") => run_host,
            Some("w3c") => run_w3c,
            _ => continue,
        };
        let cnt = columns.entry(group.clone()).or_default();
        for case in doc.get("cases").map(Json::arr).unwrap_or(&[]) {
            let name = format!("{group}/{}", gs(case, "id"));
            seen.insert(name.clone());
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(case)))
                .unwrap_or_else(|_| Err("panic".into()));
            match (xfail.contains_key(&name), outcome) {
                (true, Ok(())) => {
                    cnt.failed += 1;
                    failures.push((name, "listed as expected failure but passed".into()));
                }
                (true, Err(_)) => cnt.expected_fail += 1,
                (false, Ok(())) => cnt.passed += 1,
                (false, Err(d)) => {
                    cnt.failed += 1;
                    failures.push((name, d));
                }
            }
        }
    }
    for name in xfail.keys() {
        if !seen.contains(name) {
            let group = name.rsplit_once('/').map_or("", |(g, _)| g).to_owned();
            columns.entry(group).or_default().failed += 1;
            failures.push((name.clone(), "expected-failure entry names no case".into()));
        }
    }
    failures.sort();
    let mut out = String::from("{\"format\":\"ptel-conformance-results/1\",\"columns\":{");
    json::quote(&mut out, RUNTIME);
    out.push_str(":{");
    for (i, (g, c)) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::quote(&mut out, g);
        out.push_str(&format!(
            ":{{\"passed\":{},\"expected_fail\":{},\"failed\":{}}}",
            c.passed, c.expected_fail, c.failed
        ));
    }
    out.push_str("}},\"failures\":[");
    for (i, (case, detail)) in failures.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"column\":");
        json::quote(&mut out, RUNTIME);
        out.push_str(",\"case\":");
        json::quote(&mut out, case);
        out.push_str(",\"detail\":");
        json::quote(&mut out, detail);
        out.push('}');
    }
    out.push_str("]}\n");
    if let Err(e) = std::fs::write(&args[2], out) {
        eprintln!("{}: {e}", args[2]);
        std::process::exit(2);
    }
}
