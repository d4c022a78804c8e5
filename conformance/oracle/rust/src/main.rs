//! The Rust OTLP oracle (conformance/README.md section 9): every expected
//! PluginTelemetry payload (its OTLP Span and Metric parts) and every expected
//! export request of the vectors must decode with the official
//! `opentelemetry-proto` types, re-encode with prost to the same bytes (up to
//! the order of fields within a message: prost emits oneof members last), which
//! also proves that no field was unknown (prost drops unknown fields), and
//! (scenarios) agree with the vector's canonical JSON on names, ids, attribute
//! keys and data-point counts.
//!
//!     ptel-oracle-rust [vectors-dir]

// The runner's JSON reader (one copy in the repository).
#[allow(dead_code)]
#[path = "../../../runners/rust/src/json.rs"]
mod json;

use json::Json;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// The oracle reads the vectors leniently: a missing member reads as null,
/// a missing string as "", a missing number as "0"; the comparisons then
/// report the difference.
trait Lenient {
    fn at(&self, key: &str) -> &Json;
    fn text(&self) -> &str;
    fn num(&self) -> &str;
}

impl Lenient for Json {
    fn at(&self, key: &str) -> &Json {
        static NULL: Json = Json::Null;
        self.get(key).unwrap_or(&NULL)
    }
    fn text(&self) -> &str {
        self.str().unwrap_or("")
    }
    fn num(&self) -> &str {
        match self {
            Json::Num(n) => n,
            _ => "0",
        }
    }
}
use std::path::Path;

/// Maximum message nesting `canon` follows.
const MAX_DEPTH: usize = 64;

fn varint(d: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let b = *d.get(*i)?;
        *i += 1;
        if shift == 63 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The fields of `d` as (number, wire type, whole field bytes, payload range).
fn fields(d: &[u8]) -> Option<Vec<(u64, u64, std::ops::Range<usize>, std::ops::Range<usize>)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < d.len() {
        let start = i;
        let key = varint(d, &mut i)?;
        let (num, wt) = (key >> 3, key & 7);
        if num == 0 {
            return None;
        }
        let body = match wt {
            0 => {
                let b = i;
                varint(d, &mut i)?;
                b..i
            }
            1 | 5 => {
                let n = if wt == 1 { 8 } else { 4 };
                if d.len() - i < n {
                    return None;
                }
                i += n;
                i - n..i
            }
            2 => {
                let n = usize::try_from(varint(d, &mut i)?).ok()?;
                if d.len() - i < n {
                    return None;
                }
                i += n;
                i - n..i
            }
            _ => return None,
        };
        out.push((num, wt, start..i, body));
    }
    Some(out)
}

/// `d` with the fields of every nested message stably sorted by number.
/// Without a schema, every length-delimited payload that parses as a message
/// is treated as one; both sides of a comparison get the same treatment, so
/// this only erases field order.
fn canon(d: &[u8], depth: usize) -> Option<Vec<u8>> {
    let mut fs = fields(d)?;
    fs.sort_by_key(|f| f.0);
    let mut out = Vec::with_capacity(d.len());
    for (num, wt, whole, body) in fs {
        let sub = if wt == 2 && depth < MAX_DEPTH {
            canon(&d[body.clone()], depth + 1)
        } else {
            None
        };
        match sub {
            Some(s) => {
                put_varint(&mut out, (num << 3) | 2);
                put_varint(&mut out, s.len() as u64);
                out.extend_from_slice(&s);
            }
            None => out.extend_from_slice(&d[whole]),
        }
    }
    Some(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

struct Oracle {
    failures: Vec<String>,
    messages: usize,
}

impl Oracle {
    fn fail(&mut self, name: &str, what: String) {
        self.failures.push(format!("{name}: {what}"));
    }

    /// Decodes `data` as M, requires the prost re-encoding to be the same
    /// bytes up to field order.
    fn decode<M: Message + Default>(&mut self, name: &str, data: &[u8]) -> Option<M> {
        self.messages += 1;
        let m = match M::decode(data) {
            Ok(m) => m,
            Err(e) => {
                self.fail(name, format!("decode: {e}"));
                return None;
            }
        };
        let again = m.encode_to_vec();
        if again != data && canon(&again, 0) != canon(data, 0) {
            self.fail(
                name,
                format!(
                    "re-encoding differs (unknown or non-canonical field): {} vs {}",
                    hex(&again),
                    hex(data)
                ),
            );
        }
        Some(m)
    }

    fn eq(&mut self, name: &str, what: &str, got: String, want: String) {
        if got != want {
            self.fail(
                name,
                format!("{what}: official {got:?}, canonical JSON {want:?}"),
            );
        }
    }

    fn keys(&mut self, name: &str, what: &str, got: &[KeyValue], want: &Json) {
        let g: Vec<String> = got.iter().map(|kv| kv.key.clone()).collect();
        let w: Vec<String> = want
            .arr()
            .iter()
            .map(|a| a.at("key").text().to_string())
            .collect();
        self.eq(name, what, format!("{g:?}"), format!("{w:?}"));
    }

    fn span(&mut self, name: &str, s: &Span, w: &Json) {
        self.eq(
            name,
            "name",
            s.name.clone(),
            w.at("name").text().to_string(),
        );
        self.eq(
            name,
            "traceId",
            hex(&s.trace_id),
            w.at("traceId").text().to_string(),
        );
        self.eq(
            name,
            "spanId",
            hex(&s.span_id),
            w.at("spanId").text().to_string(),
        );
        self.eq(
            name,
            "parentSpanId",
            hex(&s.parent_span_id),
            w.at("parentSpanId").text().to_string(),
        );
        self.keys(name, "attribute keys", &s.attributes, w.at("attributes"));
        let we = w.at("events").arr();
        if s.events.len() != we.len() {
            self.fail(
                name,
                format!(
                    "events: official {}, canonical JSON {}",
                    s.events.len(),
                    we.len()
                ),
            );
        } else {
            for (i, (e, x)) in s.events.iter().zip(we).enumerate() {
                self.eq(
                    name,
                    &format!("events[{i}].name"),
                    e.name.clone(),
                    x.at("name").text().to_string(),
                );
                self.keys(
                    name,
                    &format!("events[{i}] attribute keys"),
                    &e.attributes,
                    x.at("attributes"),
                );
            }
        }
        let wl = w.at("links").arr();
        if s.links.len() != wl.len() {
            self.fail(
                name,
                format!(
                    "links: official {}, canonical JSON {}",
                    s.links.len(),
                    wl.len()
                ),
            );
        } else {
            for (i, (l, x)) in s.links.iter().zip(wl).enumerate() {
                self.eq(
                    name,
                    &format!("links[{i}].traceId"),
                    hex(&l.trace_id),
                    x.at("traceId").text().to_string(),
                );
                self.eq(
                    name,
                    &format!("links[{i}].spanId"),
                    hex(&l.span_id),
                    x.at("spanId").text().to_string(),
                );
            }
        }
    }

    fn metric(&mut self, name: &str, m: &Metric, w: &Json) {
        self.eq(
            name,
            "name",
            m.name.clone(),
            w.at("name").text().to_string(),
        );
        self.eq(
            name,
            "unit",
            m.unit.clone(),
            w.at("unit").text().to_string(),
        );
        let (kind, n) = match &m.data {
            Some(Data::Sum(d)) => ("sum", d.data_points.len()),
            Some(Data::Gauge(d)) => ("gauge", d.data_points.len()),
            Some(Data::Histogram(d)) => ("histogram", d.data_points.len()),
            Some(Data::ExponentialHistogram(d)) => ("exponentialHistogram", d.data_points.len()),
            Some(Data::Summary(d)) => ("summary", d.data_points.len()),
            None => ("none", 0),
        };
        let mut want = ("none", 0);
        for k in [
            "sum",
            "gauge",
            "histogram",
            "exponentialHistogram",
            "summary",
        ] {
            if let Some(data) = w.get(k) {
                want = (k, data.at("dataPoints").arr().len());
            }
        }
        self.eq(name, "data kind", kind.to_string(), want.0.to_string());
        self.eq(name, "data points", n.to_string(), want.1.to_string());
    }

    fn scenario(&mut self, name: &str, e: &Json) {
        let Some(data) = unhex(e.at("payload_hex").text()) else {
            return self.fail(name, "payload_hex is not hex".into());
        };
        let want = match json::parse(e.at("json").text()) {
            Ok(j) => j,
            Err(err) => return self.fail(name, format!("canonical JSON: {err}")),
        };
        let Some(fs) = fields(&data) else {
            return self.fail(name, "envelope does not parse".into());
        };
        let (mut spans, mut open, mut metrics, mut version) =
            (Vec::new(), Vec::new(), Vec::new(), 0u64);
        for (num, wt, _, body) in fs {
            let b = &data[body];
            match (num, wt) {
                (1, 0) => version = varint(b, &mut 0).unwrap_or(0),
                (2 | 4, 2) => {
                    let n = format!("{name} span[{}]", spans.len() + open.len());
                    if let Some(s) = self.decode::<Span>(&n, b) {
                        if num == 2 {
                            spans.push(s)
                        } else {
                            open.push(s)
                        }
                    }
                }
                (3, 2) => {
                    let n = format!("{name} metric[{}]", metrics.len());
                    if let Some(m) = self.decode::<Metric>(&n, b) {
                        metrics.push(m);
                    }
                }
                _ => {}
            }
        }
        self.eq(
            name,
            "protocolVersion",
            version.to_string(),
            want.at("protocolVersion").num().to_string(),
        );
        let (ws, wo, wm) = (
            want.at("spans").arr(),
            want.at("openSpans").arr(),
            want.at("metrics").arr(),
        );
        if spans.len() != ws.len() || open.len() != wo.len() || metrics.len() != wm.len() {
            return self.fail(name, format!(
                "counts (spans, open spans, metrics): official {} {} {}, canonical JSON {} {} {}",
                spans.len(), open.len(), metrics.len(), ws.len(), wo.len(), wm.len()));
        }
        for (i, (s, w)) in spans.iter().zip(ws).enumerate() {
            self.span(&format!("{name} spans[{i}]"), s, w);
        }
        for (i, (s, w)) in open.iter().zip(wo).enumerate() {
            self.span(&format!("{name} openSpans[{i}]"), s, w);
        }
        for (i, (m, w)) in metrics.iter().zip(wm).enumerate() {
            self.metric(&format!("{name} metrics[{i}]"), m, w);
        }
    }

    fn request(&mut self, name: &str, hexdata: &str, traces: bool) {
        let Some(data) = unhex(hexdata) else {
            return self.fail(name, "not hex".into());
        };
        if traces {
            if let Some(r) = self.decode::<ExportTraceServiceRequest>(name, &data) {
                for s in r
                    .resource_spans
                    .iter()
                    .flat_map(|rs| &rs.scope_spans)
                    .flat_map(|ss| &ss.spans)
                {
                    if s.trace_id.len() != 16 || s.span_id.len() != 8 || s.name.is_empty() {
                        self.fail(name, format!("span {:?}: bad ids or empty name", s.name));
                    }
                }
            }
        } else if let Some(r) = self.decode::<ExportMetricsServiceRequest>(name, &data) {
            for m in r
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
            {
                if m.name.is_empty() || m.data.is_none() {
                    self.fail(name, format!("metric {:?} without name or data", m.name));
                }
            }
        }
    }
}

fn main() {
    let vectors = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "conformance/vectors".into());
    let mut o = Oracle {
        failures: Vec::new(),
        messages: 0,
    };
    let mut payloads = 0;
    for kind in ["scenarios", "host"] {
        let dir = Path::new(&vectors).join(kind);
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) => {
                o.fail(kind, format!("{}: {e}", dir.display()));
                continue;
            }
        };
        files.sort();
        if files.is_empty() {
            o.fail(kind, format!("no vector files in {}", dir.display()));
        }
        for path in files {
            let doc = match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| json::parse(&t))
            {
                Ok(d) => d,
                Err(e) => {
                    o.fail(&path.display().to_string(), e);
                    continue;
                }
            };
            let group = doc.at("group").text().to_string();
            for c in doc.at("cases").arr() {
                let name = format!("{group}/{}", c.at("id").text());
                let e = c.at("expected");
                payloads += 1;
                if kind == "scenarios" {
                    o.scenario(&name, e);
                } else {
                    o.request(
                        &format!("{name} traces_hex"),
                        e.at("traces_hex").text(),
                        true,
                    );
                    o.request(
                        &format!("{name} metrics_hex"),
                        e.at("metrics_hex").text(),
                        false,
                    );
                }
            }
        }
    }
    for f in &o.failures {
        println!("ORACLE FAIL rust: {f}");
    }
    println!(
        "oracle: {payloads} payloads and requests ({} OTLP messages) decoded with the opentelemetry-proto \
              crate, re-encoded to the same bytes (fields in number order), {} problems",
        o.messages,
        o.failures.len()
    );
    std::process::exit(if o.failures.is_empty() { 0 } else { 1 });
}
