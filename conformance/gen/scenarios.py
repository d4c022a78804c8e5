"""Scenario vectors (README section 3): real plugins and edge cases.

Each function returns (group file name, group comment, [cases]); a case is a
dict without `expected`, which generate.py fills from the C core."""
import base64
import math

T = 10**12
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


class Dbl:
    """A double given by its exact JSON spelling ("NaN", "-0.0", ...)."""

    def __init__(self, text: str):
        self.text = text


class Bytes:
    def __init__(self, data: bytes):
        self.data = data


def fmt_double(d: float) -> str:
    if math.isnan(d):
        return "NaN"
    if math.isinf(d):
        return "Infinity" if d > 0 else "-Infinity"
    r = repr(d)
    return r


def tv(v):
    """Typed value (README 1.1) from a Python value."""
    if isinstance(v, Dbl):
        return {"double": v.text}
    if isinstance(v, Bytes):
        return {"bytes_b64": base64.b64encode(v.data).decode()}
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"double": fmt_double(v)}
    if isinstance(v, str):
        return {"string": v}
    if isinstance(v, list):
        return {"array": [tv(x) for x in v]}
    if isinstance(v, tuple):  # kvlist as a tuple of pairs (keeps order and duplicates)
        return {"kvlist": [{"key": k, "value": tv(x)} for k, x in v]}
    if v is None:
        return {"empty": {}}
    raise TypeError(v)


def attrs(*pairs):
    return [{"key": k, "value": tv(v)} for k, v in pairs]


class S:
    """Builder of one scenario."""

    def __init__(self, id, comment, decision="record_and_sample", plugin="pii_filter", limits=None,
                 **ctx):
        self.case = {"id": id, "comment": comment,
                     "context": {"traceparent": TRACEPARENT, "decision": decision,
                                 "plugin_name": plugin, **ctx},
                     "ops": []}
        if limits:
            self.case["context"]["limits"] = limits

    def op(self, _op, **kw):
        self.case["ops"].append({"op": _op, **{k: v for k, v in kw.items() if v is not None}})
        return self

    def start(self, ref, name, kind=None, parent=None, time=None):
        return self.op("start_span", ref=ref, name=name, kind=kind, parent=parent, time=time)

    def attrs(self, span, *pairs):
        return self.op("set_attributes", span=span, attrs=attrs(*pairs))

    def event(self, span, name, *pairs, time=None):
        return self.op("add_event", span=span, name=name, time=time,
                       attrs=attrs(*pairs) if pairs else None)

    def link(self, span, to=None, trace_id=None, span_id=None, trace_flags=None, tracestate=None,
             pairs=()):
        return self.op("add_link", span=span, to=to, trace_id=trace_id, span_id=span_id,
                       trace_flags=trace_flags, tracestate=tracestate,
                       attrs=attrs(*pairs) if pairs else None)

    def status(self, span, code, description=None):
        return self.op("set_status", span=span, code=code, description=description)

    def exception(self, span, type, message=None, stacktrace=None, time=None):
        return self.op("record_exception", span=span, type=type, message=message,
                       stacktrace=stacktrace, time=time)

    def rename(self, span, name):
        return self.op("update_name", span=span, name=name)

    def end(self, span, time=None):
        return self.op("end_span", span=span, time=time)

    def advance(self, ns):
        return self.op("advance", ns=ns)

    def metric(self, ref, kind, number_type, name, unit=None, description=None, bounds=None):
        return self.op("metric", ref=ref, kind=kind, number_type=number_type, name=name, unit=unit,
                       description=description, bounds=bounds)

    def rec(self, metric, value, *pairs, span=None):
        v = {"int": str(value)} if isinstance(value, int) and not isinstance(value, bool) else tv(value)
        return self.op("record", metric=metric, value=v, attrs=attrs(*pairs) if pairs else None,
                       span=span)

    def done(self):
        self.op("finish")
        return self.case


# ---- real plugins ------------------------------------------------------------------------------

def plugins():
    out = []
    # PII filter
    out.append(S("pii_filter_redacts_email", "A PII filter finds one e-mail address, redacts it "
                 "and counts the redaction by type.")
               .start("s", "pii_filter.scan").attrs("s", ("pii.types", ["email"]),
                                                     ("pii.redacted_count", 1))
               .advance(12000).event("s", "redaction", ("field.path", "$.body.to"))
               .metric("m", "counter", "int", "pii.redactions", "{redaction}", "PII values redacted")
               .rec("m", 1, ("pii.type", "email"), span="s").advance(3000).end("s").done())
    out.append(S("pii_filter_nothing_found", "No PII: count 0 is an explicit int_value 0 and the "
                 "counter records a zero increment.")
               .start("s", "pii_filter.scan").attrs("s", ("pii.redacted_count", 0))
               .metric("m", "counter", "int", "pii.redactions", "{redaction}")
               .rec("m", 0, ("pii.type", "none")).advance(800).end("s").done())
    out.append(S("pii_filter_many_types", "Several PII types in one payload: an array attribute, "
                 "one counter point per type, a histogram of scanned bytes.")
               .start("s", "pii_filter.scan")
               .attrs("s", ("pii.types", ["email", "phone", "iban", "ssn"]),
                      ("pii.redacted_count", 7))
               .metric("c", "counter", "int", "pii.redactions", "{redaction}")
               .rec("c", 3, ("pii.type", "email")).rec("c", 2, ("pii.type", "phone"))
               .rec("c", 1, ("pii.type", "iban")).rec("c", 1, ("pii.type", "ssn"))
               .metric("h", "histogram", "int", "pii.scanned_bytes", "By", None, [0, 1024, 65536])
               .rec("h", 20480).advance(45000).end("s").done())
    out.append(S("pii_filter_unicode_input", "Redaction of non-ASCII data: values and event "
                 "attributes carry multi-byte UTF-8 (accents, CJK, emoji).")
               .start("s", "pii_filter.scan")
               .attrs("s", ("pii.sample", "José Müller <josé@exämple.org>"),
                      ("pii.locale", "日本語"), ("pii.note", "🔒 redacted"))
               .event("s", "redaction", ("field.path", "$.名前"))
               .advance(5000).end("s").done())
    out.append(S("pii_filter_nested_spans", "The filter scans request and response in child "
                 "spans of its own span.")
               .start("p", "pii_filter").start("a", "scan.request", parent="p").advance(1000)
               .end("a").start("b", "scan.response", parent="p").advance(2000).end("b")
               .end("p").done())
    out.append(S("pii_filter_kvlist_report", "The filter attaches a structured report as a "
                 "kvlist attribute with nested arrays.")
               .start("s", "pii_filter.scan")
               .attrs("s", ("pii.report", (("email", 2), ("phone", ["+33 1", "+49 2"]),
                                           ("clean", False))))
               .end("s").done())
    # secrets detector that blocks
    out.append(S("secrets_detector_blocks", "A secrets detector finds an AWS key and blocks the "
                 "request: status ERROR, an exception event, a block counter.",
                 plugin="secrets_detector", hook="tool_pre_invoke")
               .start("s", "secrets.scan").attrs("s", ("secrets.found", 1),
                                                  ("secrets.kinds", ["aws_access_key"]))
               .advance(2500).exception("s", "SecretDetected", "AWS access key in arguments")
               .status("s", "error", "blocked: secret detected")
               .metric("m", "counter", "int", "secrets.blocked", "{request}")
               .rec("m", 1, ("secret.kind", "aws_access_key"), span="s").end("s").done())
    out.append(S("secrets_detector_allows", "No secret: status OK and the allowed counter.",
                 plugin="secrets_detector")
               .start("s", "secrets.scan").attrs("s", ("secrets.found", 0)).status("s", "ok")
               .metric("m", "counter", "int", "secrets.allowed", "{request}").rec("m", 1)
               .advance(900).end("s").done())
    out.append(S("secrets_detector_stacktrace", "The block carries a stack trace with newlines "
                 "and tabs; the exception time is explicit.", plugin="secrets_detector")
               .start("s", "secrets.scan")
               .exception("s", "SecretDetected", "private key block",
                          "Traceback (most recent call last):\n\tFile \"scan.py\", line 3\n",
                          time=T + 500)
               .status("s", "error", "blocked").end("s", time=T + 1000).done())
    out.append(S("secrets_detector_findings_kvlist", "Each finding is a kvlist inside an array: "
                 "kind, offset, entropy (double).", plugin="secrets_detector")
               .start("s", "secrets.scan")
               .attrs("s", ("secrets.findings",
                            [(("kind", "github_token"), ("offset", 120), ("entropy", 4.75)),
                             (("kind", "jwt"), ("offset", 512), ("entropy", 5.125))]))
               .status("s", "error", "blocked").end("s").done())
    # rate limiter
    out.append(S("rate_limiter_admits", "A token-bucket rate limiter admits a request: in-flight "
                 "up-down counter +1 then -1, a tokens gauge.", plugin="rate_limiter")
               .start("s", "ratelimit.check").metric("inflight", "updown_counter", "int",
                                                     "ratelimit.inflight", "{request}")
               .rec("inflight", 1, ("tenant", "acme")).attrs("s", ("ratelimit.remaining", 41))
               .metric("tokens", "gauge", "double", "ratelimit.tokens", "{token}")
               .rec("tokens", 41.5, ("tenant", "acme")).rec("inflight", -1, ("tenant", "acme"))
               .advance(300).end("s").done())
    out.append(S("rate_limiter_rejects", "The bucket is empty: status ERROR, remaining 0, a "
                 "rejection counter with the tenant.", plugin="rate_limiter")
               .start("s", "ratelimit.check").attrs("s", ("ratelimit.remaining", 0),
                                                     ("ratelimit.retry_after_ms", 250))
               .status("s", "error", "rate limited")
               .metric("r", "counter", "int", "ratelimit.rejections", "{request}")
               .rec("r", 1, ("tenant", "acme"), ("reason", "bucket_empty")).end("s").done())
    out.append(S("rate_limiter_tenant_overflow", "More tenants than metric_cardinality allows: "
                 "later attribute sets fold into otel.metric.overflow=true.",
                 plugin="rate_limiter", limits={"metric_cardinality": 3})
               .metric("r", "counter", "int", "ratelimit.requests", "{request}")
               .rec("r", 1, ("tenant", "a")).rec("r", 1, ("tenant", "b")).rec("r", 1, ("tenant", "c"))
               .rec("r", 1, ("tenant", "d")).rec("r", 1, ("tenant", "e")).rec("r", 2, ("tenant", "a"))
               .done())
    out.append(S("rate_limiter_gauge_last_value", "A gauge recorded three times keeps the last "
                 "value per attribute set.", plugin="rate_limiter")
               .metric("g", "gauge", "int", "ratelimit.tokens", "{token}")
               .rec("g", 10, ("tenant", "a")).advance(10).rec("g", 9, ("tenant", "a"))
               .advance(10).rec("g", 3, ("tenant", "b")).rec("g", 8, ("tenant", "a")).done())
    # retry with backoff
    s = S("retry_backoff_succeeds_third", "Retry with exponential backoff: two failed attempts "
          "(exceptions), backoff 100 ms then 200 ms, the third succeeds.", plugin="retry")
    s.start("r", "retry.call")
    s.metric("b", "histogram", "double", "retry.backoff", "s", "backoff before an attempt",
             [0.05, 0.1, 0.2, 0.5, 1.0])
    for n, (ok, backoff) in enumerate([(False, 100_000_000), (False, 200_000_000), (True, 0)], 1):
        s.start(f"a{n}", "retry.attempt", kind="client", parent="r").attrs(f"a{n}", ("attempt", n))
        s.advance(5_000_000)
        if ok:
            s.status(f"a{n}", "ok")
        else:
            s.exception(f"a{n}", "TimeoutError", "upstream timed out")
            s.status(f"a{n}", "error", "timeout")
        s.end(f"a{n}")
        if backoff:
            s.event("r", "retry", ("retry.backoff_ms", backoff // 1_000_000))
            s.rec("b", backoff / 1e9, span="r")
            s.advance(backoff)
    s.attrs("r", ("retry.attempts", 3)).status("r", "ok").end("r")
    out.append(s.done())
    s = S("retry_backoff_gives_up", "All attempts fail: each attempt links to the previous one "
          "and the parent span ends with status ERROR.", plugin="retry")
    s.start("r", "retry.call")
    for n in range(1, 4):
        s.start(f"a{n}", "retry.attempt", kind="client", parent="r")
        if n > 1:
            s.link(f"a{n}", to=f"a{n-1}", pairs=(("retry.previous", True),))
        s.advance(1000).status(f"a{n}", "error", "503").end(f"a{n}").advance(10_000)
    s.exception("r", "RetryExhausted", "3 attempts").status("r", "error", "gave up").end("r")
    out.append(s.done())
    out.append(S("retry_backoff_counter_double", "Retries counted by a double counter with "
                 "fractional increments.", plugin="retry")
               .metric("c", "counter", "double", "retry.cost", "{unit}")
               .rec("c", 0.5, ("op", "fetch")).rec("c", 0.25, ("op", "fetch"))
               .rec("c", 1e-9, ("op", "store")).done())
    # URL reputation check
    out.append(S("url_reputation_clean", "A URL reputation check calls a remote service: client "
                 "span with HTTP semantic attributes and a latency histogram.",
                 plugin="url_reputation")
               .start("s", "GET reputation", kind="client")
               .attrs("s", ("url.full", "https://rep.example/v1/check?u=https%3A%2F%2Fa.example"),
                      ("server.address", "rep.example"), ("http.request.method", "GET"),
                      ("http.response.status_code", 200), ("reputation.verdict", "clean"),
                      ("reputation.score", 0.02))
               .advance(31_000_000)
               .metric("h", "histogram", "double", "http.client.request.duration", "s")
               .rec("h", 0.031, ("http.response.status_code", 200), span="s").end("s").done())
    out.append(S("url_reputation_malicious", "The URL is malicious: status ERROR and a verdict "
                 "event; the span links to the upstream scan's trace.", plugin="url_reputation")
               .start("s", "url_reputation.check")
               .link("s", trace_id="0af7651916cd43dd8448eb211c80319c", span_id="b7ad6b7169203331",
                     trace_flags=1, tracestate="vendor=scan1", pairs=(("link.kind", "scan"),))
               .event("s", "verdict", ("reputation.verdict", "malicious"),
                      ("reputation.categories", ["phishing", "malware"]))
               .status("s", "error", "malicious URL").end("s").done())
    out.append(S("url_reputation_cache_hit", "A cache hit: an internal span, a hit counter, no "
                 "network span.", plugin="url_reputation")
               .start("s", "url_reputation.cache", kind="internal")
               .attrs("s", ("cache.hit", True))
               .metric("c", "counter", "int", "url_reputation.cache.hits", "{hit}")
               .rec("c", 1).end("s").done())
    out.append(S("url_reputation_server_kinds", "Spans of every kind, as a plugin proxying the "
                 "check through a queue would produce.", plugin="url_reputation")
               .start("a", "recv", kind="server").start("b", "publish", kind="producer", parent="a")
               .start("c", "consume", kind="consumer", parent="b")
               .start("d", "unspecified", kind="unspecified", parent="a")
               .end("d").end("c").end("b").end("a").done())
    return "plugins", "Scenarios drawn from real plugins.", out


# ---- edge cases ---------------------------------------------------------------------------------

def values():
    out = []

    def one(id, comment, *pairs):
        out.append(S(id, comment).start("s", "edge").attrs("s", *pairs).end("s").done())

    one("empty_string", "An empty string value is kept (string_value \"\").", ("k", ""))
    one("int_zero", "int 0 is written as an explicit int_value 0.", ("k", 0))
    one("int_negative_one", "int -1: a ten-byte varint.", ("k", -1))
    one("int64_min", "-2^63.", ("k", INT64_MIN))
    one("int64_max", "2^63-1.", ("k", INT64_MAX))
    one("bool_false", "bool false is an explicit bool_value false.", ("k", False))
    one("bool_true", "bool true.", ("k", True))
    one("double_nan", "NaN as a span attribute (OTLP/JSON writes \"NaN\").", ("k", Dbl("NaN")))
    one("double_pos_inf", "+Infinity as an attribute.", ("k", Dbl("Infinity")))
    one("double_neg_inf", "-Infinity as an attribute.", ("k", Dbl("-Infinity")))
    one("double_neg_zero", "-0.0 keeps its sign bit.", ("k", Dbl("-0.0")))
    one("double_zero", "0.0 is an explicit double_value.", ("k", 0.0))
    one("double_subnormal", "The smallest subnormal.", ("k", Dbl("5e-324")))
    one("double_max", "The largest finite double.", ("k", Dbl("1.7976931348623157e308")))
    one("bytes_empty", "An empty bytes value.", ("k", Bytes(b"")))
    one("bytes_binary", "Bytes with every kind of octet (base64 in JSON).",
        ("k", Bytes(bytes([0, 1, 0x7F, 0x80, 0xFE, 0xFF]))))
    one("array_mixed", "An array mixing every scalar type.",
        ("k", ["s", 1, 2.5, True, Bytes(b"\x01"), None]))
    one("array_empty", "An empty array value.", ("k", []))
    one("kvlist_empty", "An empty kvlist value.", ("k", ()))
    one("empty_value", "An AnyValue with no member.", ("k", None))
    one("string_with_nul", "A string holding U+0000 is kept byte for byte.", ("k", "a\u0000b"))
    one("non_ascii_key_value", "Non-ASCII UTF-8 in keys and values (2-, 3- and 4-byte sequences).",
        ("ключ", "значение"), ("キー", "値"), ("emoji.😀", "🎉"))
    one("key_overwrite", "set_attributes with a key set earlier: the later value wins in place.",
        ("k", 1), ("j", 2), ("k", 3))
    deep = "leaf"
    for n in range(8):
        deep = (("d%d" % n, deep),)
    one("kvlist_depth_8", "A kvlist nested 8 deep (the default attribute_depth) is kept.",
        ("k", deep))
    deep = "leaf"
    for n in range(12):
        deep = (("d%d" % n, deep),)
    one("kvlist_depth_12", "A kvlist nested 12 deep exceeds attribute_depth 8: "
        "the levels past the limit become an empty value, the outer ones are kept.", ("k", deep))
    arr = 1
    for n in range(10):
        arr = [arr]
    one("array_depth_10", "Arrays nested 10 deep exceed attribute_depth 8: the "
        "innermost levels become an empty value.", ("k", arr))
    many = [("attr.%03d" % n, n) for n in range(128)]
    out.append(S("attrs_128", "128 attributes: exactly the default attribute_count.")
               .start("s", "edge").attrs("s", *many).end("s").done())
    many = [("attr.%03d" % n, n) for n in range(130)]
    out.append(S("attrs_130", "130 attributes: two beyond attribute_count are dropped and counted.")
               .start("s", "edge").attrs("s", *many).end("s").done())
    out.append(S("long_string_truncated", "A 40-character string under attribute_value_length "
                 "16 is truncated to 16 characters (not bytes).",
                 limits={"attribute_value_length": 16})
               .start("s", "edge").attrs("s", ("k", "é" * 40), ("b", Bytes(b"x" * 40))).end("s")
               .done())
    out.append(S("empty_span_name", "A span with an empty name.")
               .start("s", "").end("s").done())
    out.append(S("empty_key_refused", "An empty attribute key is refused (counted), the others "
                 "kept.").start("s", "edge").attrs("s", ("", 1), ("ok", 2)).end("s").done())
    return "values", "Attribute values of every type and their edges.", out


def metrics():
    out = []

    def m(id, comment, kind, nt, values, *pairs, bounds=None, unit=None):
        s = S(id, comment).metric("m", kind, nt, "edge.metric", unit, None, bounds)
        for v in values:
            s.rec("m", v, *pairs)
        out.append(s.done())

    m("counter_int", "An int counter summing three increments.", "counter", "int", [1, 2, 3])
    m("counter_double", "A double counter.", "counter", "double", [0.5, 1.5])
    m("counter_negative_refused", "A negative increment of a counter is refused and counted.",
      "counter", "int", [5, -1])
    m("updown_negative", "An up-down counter goes negative.", "updown_counter", "int", [1, -3])
    m("updown_int64_extremes", "Up-down counter with 2^63-1 then -2^63+1.", "updown_counter", "int",
      [INT64_MAX, -INT64_MAX])
    m("gauge_nan", "A double gauge recording NaN.", "gauge", "double", [Dbl("NaN")])
    m("gauge_pos_inf", "A double gauge recording +Infinity.", "gauge", "double", [Dbl("Infinity")])
    m("gauge_neg_inf", "A double gauge recording -Infinity.", "gauge", "double", [Dbl("-Infinity")])
    m("gauge_neg_zero", "A double gauge recording -0.0.", "gauge", "double", [Dbl("-0.0")])
    m("gauge_int_min", "An int gauge recording -2^63.", "gauge", "int", [INT64_MIN])
    m("counter_nan_refused", "NaN into a sum is refused.", "counter", "double", [Dbl("NaN"), 1.0])
    m("histogram_default_bounds", "A histogram with the OpenTelemetry default bounds.",
      "histogram", "double", [0.0, 7.0, 250.0, 20000.0])
    m("histogram_custom_bounds", "Custom bounds; values on a bound go to the lower bucket.",
      "histogram", "int", [1, 10, 11, 100, 1000], bounds=[10, 100])
    m("histogram_no_bounds", "An empty bounds list: one bucket.", "histogram", "double",
      [1.0, 2.0], bounds=[])
    m("histogram_inf_refused", "+Infinity into a histogram is refused.", "histogram", "double",
      [Dbl("Infinity"), 3.0])
    m("int_into_double", "record_int on a double instrument: converted to a double point.", "counter", "double", [2])
    m("double_into_int", "record_double on an int instrument: refused and counted.", "counter", "int", [2.5])
    m("point_attributes_all_types", "Data-point attributes of several types.", "counter", "int",
      [1], ("s", "x"), ("i", -2), ("d", 0.5), ("b", True))
    m("unit_and_description", "Unit and description are copied.", "gauge", "int", [4],
      unit="KiBy")
    out.append(S("invalid_metric_name", "An instrument name that breaks the grammar is refused "
                 "and counted.").metric("m", "counter", "int", "1bad name").rec("m", 1).done())
    out.append(S("metric_kind_conflict", "The same name (case-insensitively) with another kind "
                 "is refused.").metric("a", "counter", "int", "requests")
               .metric("b", "gauge", "int", "REQUESTS").rec("a", 1).rec("b", 2).done())
    out.append(S("metric_same_instrument_twice", "Getting the same instrument twice returns it "
                 "once; both refs record into it.").metric("a", "counter", "int", "requests")
               .metric("b", "counter", "int", "requests").rec("a", 1).rec("b", 2).done())
    out.append(S("metric_count_limit", "metric_count 2: the third instrument is refused.",
                 limits={"metric_count": 2})
               .metric("a", "counter", "int", "m.a").metric("b", "counter", "int", "m.b")
               .metric("c", "counter", "int", "m.c").rec("a", 1).rec("b", 1).rec("c", 1).done())
    out.append(S("exemplar_from_span", "A measurement made inside a span carries the span as "
                 "exemplar context.").start("s", "work")
               .metric("h", "histogram", "double", "work.duration", "s").rec("h", 0.25, span="s")
               .end("s").done())
    return "metrics", "Instruments of every kind, their values and their refusals.", out


def structure():
    out = []
    out.append(S("no_spans", "A plugin that records nothing: only protocol_version.").done())
    out.append(S("explicit_times", "Explicit start, event and end times.")
               .start("s", "t", time=T + 10).event("s", "e", time=T + 20).end("s", time=T + 30)
               .done())
    out.append(S("end_before_start_explicit", "An explicit end before the start: the end is "
                 "moved to the start and the misuse counted in dropped.errors.")
               .start("s", "t", time=T + 100).end("s", time=T + 50).done())
    out.append(S("open_span_at_finish", "A span never ended is reported in open_spans.")
               .start("a", "done").end("a").start("b", "still_open").advance(10).done())
    out.append(S("end_twice", "Ending a span twice: the second call is an error, the first end "
                 "time stays.").start("s", "t").advance(5).end("s").advance(5).end("s").done())
    out.append(S("update_name", "update_name replaces the name.")
               .start("s", "before").rename("s", "after").end("s").done())
    out.append(S("status_ok_then_error", "Status OK is final: a later ERROR does not replace it.")
               .start("s", "t").status("s", "ok").status("s", "error", "late").end("s").done())
    out.append(S("status_unset_description", "A description with status UNSET is ignored.")
               .start("s", "t").status("s", "unset", "ignored").end("s").done())
    out.append(S("events_with_attributes", "Several events with attributes, in order.")
               .start("s", "t").event("s", "a", ("n", 1)).advance(1).event("s", "b")
               .advance(1).event("s", "c", ("x", "y"), ("z", 2.0)).end("s").done())
    out.append(_chain())
    out.append(S("tracestate_and_baggage", "The context carries tracestate and baggage: the "
                 "plugin's spans inherit the tracestate as trace_state; baggage is not echoed.",
                 tracestate="congo=t61rcWkgMzE", baggage="userId=alice")
               .start("s", "t").end("s").done())
    return "structure", "Span structure: nesting, times, status, events, open spans.", out


def _chain():
    s = S("deep_span_tree", "A chain of 20 nested spans, ended innermost first.")
    for n in range(20):
        s.start(f"s{n}", f"level{n}", parent=f"s{n-1}" if n else None)
    for n in reversed(range(20)):
        s.end(f"s{n}")
    return s.done()


def limits_and_decisions():
    out = []
    out.append(S("decision_drop", "DROP: spans are non-recording and the payload holds no "
                 "spans.", decision="drop",
                 traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
               .start("s", "t").attrs("s", ("k", 1)).event("s", "e").end("s").done())
    out.append(S("decision_drop_metrics", "DROP with metrics: what the recorder does with "
                 "measurements when the trace is not recorded.", decision="drop",
                 traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
               .metric("m", "counter", "int", "c").rec("m", 1).done())
    out.append(S("decision_record_only", "RECORD_ONLY: spans are recorded, sampled flag clear.",
                 decision="record_only",
                 traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
               .start("s", "t").end("s").done())
    out.append(S("random_flag_parent", "A Level 2 parent with the random flag set.",
                 traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")
               .start("s", "t").end("s").done())
    s = S("span_count_limit", "span_count 3: the fourth and fifth spans are refused and counted.",
          limits={"span_count": 3})
    for n in range(5):
        s.start(f"s{n}", f"span{n}").end(f"s{n}")
    out.append(s.done())
    s = S("event_count_limit", "event_count 2: later events are dropped and counted.",
          limits={"event_count": 2}).start("s", "t")
    for n in range(4):
        s.event("s", f"e{n}")
    out.append(s.end("s").done())
    s = S("link_count_limit", "link_count 1: the second link is dropped and counted.",
          limits={"link_count": 1}).start("s", "t")
    s.link("s", trace_id="0af7651916cd43dd8448eb211c80319c", span_id="b7ad6b7169203331")
    s.link("s", trace_id="0af7651916cd43dd8448eb211c80319c", span_id="b7ad6b7169203332")
    out.append(s.end("s").done())
    out.append(S("attribute_count_limit", "attribute_count 2: the third attribute is dropped.",
                 limits={"attribute_count": 2})
               .start("s", "t").attrs("s", ("a", 1), ("b", 2), ("c", 3)).end("s").done())
    out.append(S("attributes_per_event_limit", "attributes_per_event 1.",
                 limits={"attributes_per_event": 1})
               .start("s", "t").event("s", "e", ("a", 1), ("b", 2)).end("s").done())
    out.append(S("attributes_per_link_limit", "attributes_per_link 1.",
                 limits={"attributes_per_link": 1})
               .start("s", "t").link("s", trace_id="0af7651916cd43dd8448eb211c80319c",
                                     span_id="b7ad6b7169203331", pairs=(("a", 1), ("b", 2)))
               .end("s").done())
    out.append(S("attribute_depth_limit_2", "attribute_depth 2: in a value nested 3 deep the "
                 "level past the limit becomes an empty value.", limits={"attribute_depth": 2})
               .start("s", "t").attrs("s", ("ok", [[1]]), ("deep", [[[1]]])).end("s").done())
    out.append(S("invalid_link_zero_ids", "A link to an all-zero context is refused.")
               .start("s", "t").link("s", trace_id="0" * 32, span_id="0" * 16).end("s").done())
    return "limits", "Limits exceeded and the sampling decisions.", out


GROUPS = [plugins, values, metrics, structure, limits_and_decisions]
