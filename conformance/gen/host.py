"""Host vectors (README section 4): an invocation, an untrusted payload, the
expected report and export requests. Hostile payloads are built by hand with
pb.py so they can break every rule of the host.h table; each hostile case
names the documented reason it must produce."""
import struct

import pb

T = 10**12
TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
PARENT = bytes.fromhex("00f067aa0ba902b7")
INV = bytes.fromhex("aaaaaaaaaaaaaa01")
OTHER_TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


def sid(n: int) -> bytes:
    return bytes(7) + bytes([n])


def invocation(**kw):
    inv = {"parent": {"trace_id": TRACE.hex(), "span_id": PARENT.hex(), "trace_flags": 1},
           "span_id": INV.hex(), "decision": "record_and_sample", "plugin_name": "demo",
           "plugin_version": "1.0.0", "hook": "tool_pre_invoke"}
    inv.update(kw)
    return inv


def span(n=1, parent=INV, name="work", start=T + 100, end=T + 200, trace=TRACE, span_id=...,
         kind=1, extra=b"", field=2):
    """A PluginTelemetry span field (2 = spans, 4 = open_spans)."""
    body = b""
    if trace is not None:
        body += pb.ld(1, trace)
    sid_ = sid(n) if span_id is ... else span_id
    if sid_ is not None:
        body += pb.ld(2, sid_)
    if parent is not None:
        body += pb.ld(4, parent)
    body += pb.ld(5, name.encode() if isinstance(name, str) else name)
    if kind:
        body += pb.uint(6, kind)
    body += pb.fixed64(7, start)
    if end is not None:
        body += pb.fixed64(8, end)
    body += extra
    return pb.ld(field, body)


def payload(*parts, version=1):
    return (pb.uint(1, version) if version is not None else b"") + b"".join(parts)


def attr(key, value, field=9):
    return pb.kv(field, key, value)


def ndp(value, attrs=b"", start=T + 100, time=T + 200, as_int=True, extra=b""):
    """A NumberDataPoint in ascending field order (2, 3, 4, 5 exemplars, 6, 7)."""
    body = pb.fixed64(2, start) + pb.fixed64(3, time)
    if value is not None and not as_int:
        body += pb.double(4, value)
    body += extra
    if value is not None and as_int:
        body += pb.sfixed64(6, value)
    return pb.ld(1, body + attrs)


def counter(name, *points, temporality=1, monotonic=True, unit=""):
    body = pb.s(1, name) + (pb.s(3, unit) if unit else b"")
    s = b"".join(points) + pb.uint(2, temporality) + (pb.uint(3, 1) if monotonic else b"")
    return pb.ld(3, body + pb.ld(7, s))


def gauge(name, *points):
    return pb.ld(3, pb.s(1, name) + pb.ld(5, b"".join(points)))


def hist(name, count, total, buckets, bounds, temporality=1):
    dp = (pb.fixed64(2, T + 100) + pb.fixed64(3, T + 200) + pb.fixed64(4, count)
          + pb.double(5, total) + pb.ld(6, b"".join(struct.pack("<Q", b) for b in buckets))
          + pb.ld(7, b"".join(struct.pack("<d", b) for b in bounds)))
    return pb.ld(3, pb.s(1, name) + pb.ld(9, pb.ld(1, dp) + pb.uint(2, temporality)))


def case(id, comment, data, reason=None, **kw):
    c = {"id": id, "comment": comment}
    if reason:
        c["reason"] = reason
    c["invocation"] = invocation(**kw.pop("inv", {}))
    c["payload_hex"] = data.hex() if isinstance(data, (bytes, bytearray)) else data
    c.update(kw)
    return c


def valid():
    out = []
    out.append(case("empty_payload", "An empty payload means no telemetry (e.g. after a crash): "
                    "not an error; only the invocation span is exported.", b""))
    out.append(case("version_only", "A payload with only protocol_version 1.", payload()))
    out.append(case("one_span", "One well-formed span, child of the invocation span: exported "
                    "as the plugin's exact bytes.", payload(span())))
    out.append(case("nested_spans", "A child of a plugin span.",
                    payload(span(2, parent=sid(1), name="child", start=T + 120, end=T + 180),
                            span(1))))
    out.append(case("all_attribute_types", "A span with attributes of every type.",
                    payload(span(extra=attr("s", "x") + attr("i", -5) + attr("d", 0.5)
                                 + attr("b", True) + attr("y", b"\x00\xff") + attr("a", [1, "two"])
                                 + attr("k", {"n": 1}) + attr("e", None)))))
    out.append(case("metrics_every_kind", "A counter, an up-down counter, a gauge and a "
                    "histogram, all DELTA.",
                    payload(counter("c", ndp(3)), counter("u", ndp(-2), monotonic=False),
                            gauge("g", ndp(1.5, as_int=False)),
                            hist("h", 3, 6.0, [1, 1, 1], [1.0, 2.0]))))
    out.append(case("outcome_error", "The plugin failed: the invocation span gets status ERROR "
                    "and error.type.", payload(span()), outcome="error", error_type="ValueError"))
    out.append(case("outcome_timeout", "The host timed out the plugin.", payload(),
                    outcome="timeout"))
    out.append(case("outcome_crash_no_payload", "The plugin crashed and sent nothing.", b"",
                    outcome="crash"))
    out.append(case("record_only_accepted", "RECORD_ONLY with policy.accept_record_only keeps "
                    "the spans.", payload(span()),
                    inv={"decision": "record_only", "parent": {"trace_id": TRACE.hex(),
                                                               "span_id": PARENT.hex(),
                                                               "trace_flags": 0},
                         "policy": {"accept_record_only": True}}))
    out.append(case("new_trace_root", "No parent: the invocation starts a new trace with ids "
                    "from the injected generator; the plugin sent nothing.", b"",
                    inv={"parent": {"trace_id": "0" * 32, "span_id": "0" * 16}, "span_id": "0" * 16}))
    out.append(case("custom_export_options", "Resource attributes, scope name and version and no "
                    "invocation span, as an SDK adapter exports.", payload(span()),
                    export={"resource": [{"key": "service.name", "value": {"string": "gateway"}},
                                         {"key": "deployment.environment.name",
                                          "value": {"string": "test"}}],
                            "host_scope_name": "adapter", "host_scope_version": "9.9.9",
                            "include_invocation_span": False}))
    out.append(case("open_span_ended_by_host", "A span in open_spans is ended by the host at the "
                    "invocation's end with status ERROR and error.type span_not_ended.",
                    payload(span(end=None, field=4)), "open_span"))
    out.append(case("clamped_start", "A start before the window (slack 1 s) is clamped under "
                    "the default CLAMP policy; the span is kept and re-encoded.",
                    payload(span(start=T - 5 * 10**9)), "time_window"))
    out.append(case("invocation_w3c_and_attrs", "The host's tracestate and baggage reach the "
                    "context; invocation attributes and a custom span name are exported on the "
                    "invocation span.", payload(span()),
                    inv={"tracestate": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
                         "baggage": "userId=alice", "span_name": "plugin.pii",
                         "attrs": [{"key": "plugin.mode", "value": {"string": "enforce"}}]}))
    out.append(case("exemplar_of_kept_span", "A data point with an exemplar naming a kept span "
                    "of the payload.",
                    payload(span(1), counter("c", ndp(1, extra=pb.msg(
                        5, pb.fixed64(2, T + 150), pb.ld(4, sid(1)), pb.ld(5, TRACE),
                        pb.sfixed64(6, 1)))))))
    return "valid", "Accepted payloads, outcomes and export options.", out


def hostile():
    out = []
    H = out.append
    # identity
    H(case("forged_trace_id", "A span in another trace.", payload(span(trace=OTHER_TRACE)),
           "trace_id_mismatch"))
    H(case("missing_trace_id", "A span without trace_id.", payload(span(trace=None)),
           "trace_id_mismatch"))
    H(case("short_trace_id", "A trace_id of 8 bytes.", payload(span(trace=TRACE[:8])),
           "trace_id_mismatch"))
    H(case("forged_parent", "A parent that is neither the invocation span nor a span of the "
           "payload.", payload(span(parent=sid(99))), "parent_unknown"))
    H(case("missing_parent", "A span without parent_span_id.", payload(span(parent=None)),
           "parent_unknown"))
    H(case("parent_is_hosts_parent", "The plugin attaches to the host's own parent, skipping "
           "the invocation span.", payload(span(parent=PARENT)), "parent_unknown"))
    H(case("parent_cycle", "Two spans naming each other as parent.",
           payload(span(1, parent=sid(2)), span(2, parent=sid(1))), "parent_unknown"))
    H(case("child_of_dropped_span", "The parent is dropped (forged trace), so its child drops "
           "too.", payload(span(1, trace=OTHER_TRACE), span(2, parent=sid(1))),
           "parent_unknown"))
    H(case("zero_span_id", "An all-zero span id.", payload(span(span_id=bytes(8))),
           "span_id_zero"))
    H(case("missing_span_id", "No span_id field.", payload(span(span_id=None)), "span_id_zero"))
    H(case("span_id_wrong_length", "A 9-byte span id.", payload(span(span_id=bytes(8) + b"\x01")),
           "span_id_zero"))
    H(case("duplicate_span_id", "Two spans with one id.", payload(span(1), span(1, name="again")),
           "span_id_duplicate"))
    H(case("host_span_id_reused", "A span reusing the invocation span's id.",
           payload(span(span_id=INV)), "span_id_host"))
    # time
    H(case("end_before_start", "End precedes start.", payload(span(start=T + 500, end=T + 100)),
           "end_before_start"))
    H(case("far_future_reject", "A start 1000 s after the invocation under the REJECT policy.",
           payload(span(start=T + 10**12, end=T + 10**12 + 1)), "time_window",
           inv={"policy": {"time_policy": "reject"}}))
    H(case("far_past_epoch_reject", "A start at the Unix epoch under REJECT.",
           payload(span(start=1, end=2)), "time_window", inv={"policy": {"time_policy": "reject"}}))
    H(case("far_future_clamp", "A far-future end (2^64-1) is clamped under CLAMP.",
           payload(span(end=2**64 - 1)), "time_window"))
    H(case("event_far_future_reject", "An event far outside the window under REJECT is dropped.",
           payload(span(extra=pb.msg(11, pb.fixed64(1, T + 10**13), pb.s(2, "late")))),
           "time_window", inv={"policy": {"time_policy": "reject"}}))
    # wire
    H(case("truncated_varint", "The payload ends inside a varint.", pb.tag(1, 0) + b"\x80",
           "malformed"))
    H(case("length_past_end", "A span's length runs past the end of the payload.",
           payload() + pb.tag(2, 2) + pb.varint(100) + b"\x0a\x00", "malformed"))
    H(case("overlong_length", "A length of 2^63 (ten-byte varint).",
           payload() + pb.tag(2, 2) + pb.varint(2**63) + b"\x00", "malformed"))
    H(case("truncated_span", "The last span is cut short.", payload(span())[:-5], "malformed"))
    H(case("spans_as_varint", "The spans field with wire type VARINT.",
           payload() + pb.uint(2, 5), "malformed"))
    H(case("group_wire_type", "A START_GROUP wire type at top level.",
           payload() + pb.tag(7, 3) + pb.tag(7, 4), "malformed"))
    H(case("field_number_zero", "A field with number 0.", payload() + b"\x02\x00", "malformed"))
    H(case("span_name_as_varint", "A span's name with wire type VARINT.",
           payload(span(extra=pb.uint(5, 1))), "malformed"))
    H(case("fixed64_truncated_in_span", "A span's start time cut to 4 bytes.",
           payload(pb.ld(2, pb.ld(1, TRACE) + pb.ld(2, sid(1)) + pb.ld(4, INV) + pb.tag(7, 1)
                         + b"\x00\x00\x00\x00")), "malformed"))
    H(case("version_missing", "No protocol_version.", payload(span(), version=None), "version"))
    H(case("version_2", "protocol_version 2.", payload(span(), version=2), "version"))
    H(case("oversized_payload", "A payload larger than limits.payload_bytes (64).",
           payload(span(name="x" * 100)), "too_large",
           inv={"policy": {"limits": {"payload_bytes": 64}}}))
    # nesting
    bomb = "leaf"
    for _ in range(100):
        bomb = [bomb]
    H(case("nesting_bomb_array", "An attribute value of arrays nested 100 deep becomes an empty "
           "value.", payload(span(extra=attr("bomb", bomb))), "depth"))
    kbomb = "leaf"
    for n in range(70):
        kbomb = {"k": kbomb}
    H(case("nesting_bomb_kvlist", "kvlists nested 70 deep (past PTEL_HOST_MAX_DEPTH).",
           payload(span(extra=attr("bomb", kbomb))), "depth"))
    deep = 1
    for _ in range(9):
        deep = [deep]
    H(case("depth_over_limit", "Arrays nested 9 deep with the default attribute_depth 8.",
           payload(span(extra=attr("deep", deep))), "depth"))
    # utf-8
    H(case("invalid_utf8_span_name", "A span name with a lone continuation byte.",
           payload(span(name=b"bad\x80name")), "utf8"))
    H(case("invalid_utf8_attr_key", "An attribute key with an overlong encoding.",
           payload(span(extra=attr(b"\xc0\xafkey", 1))), "utf8"))
    H(case("invalid_utf8_attr_value", "A string value with a surrogate (ED A0 80).",
           payload(span(extra=pb.msg(9, pb.s(1, "k"), pb.ld(2, pb.ld(1, b"\xed\xa0\x80"))))),
           "utf8"))
    H(case("invalid_utf8_event_name", "An event name that is not UTF-8.",
           payload(span(extra=pb.msg(11, pb.fixed64(1, T + 150), pb.ld(2, b"\xff")))), "utf8"))
    H(case("invalid_utf8_status_message", "A status message that is not UTF-8.",
           payload(span(extra=pb.msg(15, pb.ld(2, b"\xfe"), pb.uint(3, 2)))), "utf8"))
    # keys
    H(case("reserved_service_name", "A plugin setting service.name.",
           payload(span(extra=attr("service.name", "evil"))), "reserved_key"))
    H(case("reserved_prefix_telemetry_sdk", "A key under the reserved prefix telemetry.sdk.",
           payload(span(extra=attr("telemetry.sdk.name", "evil"))), "reserved_key"))
    H(case("reserved_plugin_name", "plugin.name is the host's.",
           payload(span(extra=attr("plugin.name", "other"))), "reserved_key"))
    H(case("reserved_custom_list", "A policy with its own reserved list (tenant.).",
           payload(span(extra=attr("tenant.id", "x") + attr("service.name", "ok here"))),
           "reserved_key", inv={"policy": {"reserved_keys": ["tenant."]}}))
    H(case("reserved_key_on_data_point", "A reserved key on a metric data point.",
           payload(counter("c", ndp(1, attrs=attr("service.name", "x", field=7)))),
           "reserved_key"))
    H(case("duplicate_attribute_key", "A key repeated in one list: the first wins.",
           payload(span(extra=attr("k", 1) + attr("k", 2))), "duplicate_key"))
    H(case("empty_attribute_key", "An empty key.", payload(span(extra=attr("", 1))), "empty_key"))
    # floods
    H(case("span_flood", "Six spans with span_count 3.",
           payload(*[span(n) for n in range(1, 7)]), "span_count",
           inv={"policy": {"limits": {"span_count": 3}}}))
    H(case("attribute_flood", "Ten attributes with attribute_count 4.",
           payload(span(extra=b"".join(attr(f"a{n}", n) for n in range(10)))), "attribute_count",
           inv={"policy": {"limits": {"attribute_count": 4}}}))
    H(case("event_flood", "Five events with event_count 2.",
           payload(span(extra=b"".join(pb.msg(11, pb.fixed64(1, T + 150), pb.s(2, f"e{n}"))
                                      for n in range(5)))), "event_count",
           inv={"policy": {"limits": {"event_count": 2}}}))
    H(case("link_flood", "Four links with link_count 1.",
           payload(span(extra=b"".join(pb.msg(13, pb.ld(1, OTHER_TRACE), pb.ld(2, sid(n)))
                                      for n in range(1, 5)))), "link_count",
           inv={"policy": {"limits": {"link_count": 1}}}))
    H(case("cardinality_flood", "Ten attribute sets with metric_cardinality 4: the rest merge "
           "into the overflow set.",
           payload(counter("c", *[ndp(1, attrs=attr("user", f"u{n}", field=7))
                                  for n in range(10)])), "cardinality",
           inv={"policy": {"limits": {"metric_cardinality": 4}}}))
    H(case("metric_flood", "Five metrics with metric_count 2.",
           payload(*[counter(f"m{n}", ndp(1)) for n in range(5)]), "metric_count",
           inv={"policy": {"limits": {"metric_count": 2}}}))
    H(case("string_too_long", "A 100-character value with attribute_value_length 10 is "
           "truncated.", payload(span(extra=attr("k", "v" * 100))), "string_length",
           inv={"policy": {"limits": {"attribute_value_length": 10}}}))
    # values
    H(case("span_kind_out_of_range", "Span kind 9.", payload(span(kind=9)), "invalid_value"))
    H(case("status_code_out_of_range", "Status code 7.",
           payload(span(extra=pb.msg(15, pb.uint(3, 7)))), "invalid_value"))
    H(case("invalid_link_zero_trace", "A link with an all-zero trace id.",
           payload(span(extra=pb.msg(13, pb.ld(1, bytes(16)), pb.ld(2, sid(5))))), "invalid_link"))
    H(case("metric_bad_name", "A metric name starting with a digit.",
           payload(counter("1metric", ndp(1))), "metric_name"))
    H(case("metric_bad_unit", "A metric unit with non-ASCII characters.",
           payload(counter("m", ndp(1), unit="µs")), "metric_unit"))
    H(case("metric_summary", "A Summary metric (not in v1).",
           payload(pb.ld(3, pb.s(1, "m") + pb.ld(11, pb.ld(1, pb.fixed64(3, T + 200))))),
           "metric_type"))
    H(case("metric_no_data", "A metric with no data.", payload(pb.ld(3, pb.s(1, "m"))),
           "metric_type"))
    H(case("cumulative_sum", "A CUMULATIVE sum from a plugin.",
           payload(counter("m", ndp(1), temporality=2)), "temporality"))
    H(case("negative_monotonic_sum", "A negative point in a monotonic sum.",
           payload(counter("m", ndp(-1))), "invalid_value"))
    H(case("nan_sum", "A NaN sum value.", payload(counter("m", ndp(float("nan"), as_int=False))),
           "invalid_value"))
    H(case("histogram_bad_buckets", "Bucket counts that do not add up to count.",
           payload(hist("h", 5, 1.0, [1, 1, 1], [1.0, 2.0])), "invalid_value"))
    H(case("histogram_bounds_not_increasing", "Bounds 2, 1.",
           payload(hist("h", 2, 1.0, [1, 0, 1], [2.0, 1.0])), "invalid_value"))
    H(case("metric_name_conflict", "The same name twice (case-insensitively).",
           payload(counter("req", ndp(1)), counter("REQ", ndp(2))), "metric_conflict"))
    H(case("point_without_value", "A data point with neither as_int nor as_double.",
           payload(gauge("g", ndp(None))), "invalid_value"))
    H(case("exemplar_foreign_trace", "An exemplar naming a span of another trace.",
           payload(counter("c", ndp(1, extra=pb.msg(5, pb.fixed64(2, T + 150), pb.ld(4, sid(1)),
                                                    pb.ld(5, OTHER_TRACE), pb.sfixed64(6, 1))))),
           "trace_id_mismatch"))
    H(case("invalid_utf8_link_tracestate", "A link whose trace_state is not UTF-8.",
           payload(span(extra=pb.msg(13, pb.ld(1, OTHER_TRACE), pb.ld(2, sid(5)),
                                     pb.ld(3, b"k=\xff")))), "utf8"))
    H(case("event_attribute_flood", "Four attributes on an event with attributes_per_event 2.",
           payload(span(extra=pb.msg(11, pb.fixed64(1, T + 150), pb.s(2, "e"),
                                     *[attr(f"a{n}", n, field=3) for n in range(4)]))),
           "attribute_count", inv={"policy": {"limits": {"attributes_per_event": 2}}}))
    H(case("exemplar_unknown_span", "An exemplar naming a span that is not in the payload.",
           payload(counter("c", ndp(1, extra=pb.msg(5, pb.fixed64(2, T + 150), pb.ld(4, sid(42)),
                                                    pb.ld(5, TRACE), pb.sfixed64(6, 1))))),
           "parent_unknown"))
    H(case("exemplars_feature_off", "Exemplars when the host does not accept them "
           "(features = 1|2|8).",
           payload(counter("c", ndp(1, extra=pb.msg(5, pb.fixed64(2, T + 150), pb.sfixed64(6, 1))))),
           "feature", inv={"features": 11}))
    H(case("metric_time_reject", "A data point far outside the window under REJECT.",
           payload(counter("c", ndp(1, start=T + 10**13, time=T + 10**13 + 1))), "time_window",
           inv={"policy": {"time_policy": "reject"}}))
    # decisions and features
    H(case("spans_under_drop", "Spans sent although the decision is DROP.", payload(span()),
           "not_sampled", inv={"decision": "drop", "parent": {"trace_id": TRACE.hex(),
                                                            "span_id": PARENT.hex(),
                                                            "trace_flags": 0}}))
    H(case("spans_under_record_only", "Spans under RECORD_ONLY without accept_record_only.",
           payload(span()), "not_sampled",
           inv={"decision": "record_only", "parent": {"trace_id": TRACE.hex(),
                                                     "span_id": PARENT.hex(), "trace_flags": 0}}))
    H(case("spans_feature_off", "Spans when the host accepts only metrics (features = 2).",
           payload(span(), counter("c", ndp(1))), "feature", inv={"features": 2}))
    H(case("open_spans_feature_off", "Open spans when PTEL_FEATURE_OPEN_SPANS is off "
           "(features = 1|2|4).", payload(span(end=None, field=4)), "feature",
           inv={"features": 7}))
    H(case("unknown_field_in_span", "A field unknown to OTLP inside a span is removed.",
           payload(span(extra=pb.uint(99, 1))), "unknown_field"))
    return "hostile", "Hostile payloads: each must be rejected or trimmed with its documented " \
        "reason (core/include/ptel/host.h).", out


def from_scenarios():
    """Recorder output of some scenarios, validated by a host whose invocation span is the
    scenario context's parent: what a conforming plugin sends passes unchanged."""
    picks = [("plugins", "pii_filter_redacts_email"), ("plugins", "secrets_detector_blocks"),
             ("plugins", "rate_limiter_admits"), ("plugins", "retry_backoff_succeeds_third"),
             ("plugins", "url_reputation_malicious"), ("values", "int64_min"),
             ("values", "double_nan"), ("values", "non_ascii_key_value"),
             ("metrics", "histogram_custom_bounds"), ("structure", "open_span_at_finish"),
             ("limits", "decision_drop")]
    out = []
    for group, id in picks:
        c = case(f"{group}_{id}", f"The payload of scenario scenarios/{group}/{id}, validated "
                 "by the host that sent its context.", "",
                 inv={"span_id": PARENT.hex(), "plugin_name": "pii_filter", "plugin_version": "",
                      "hook": "", "duration_ns": 10**9,
                      "parent": {"trace_id": TRACE.hex(), "span_id": "b7ad6b7169203331",
                                 "trace_flags": 0 if id == "decision_drop" else 1}})
        if id == "decision_drop":
            c["invocation"]["decision"] = "drop"
        c["_from"] = f"scenarios/{group}/{id}"
        out.append(c)
    return "from_scenarios", "Recorder payloads from the scenario vectors, through the host.", out


GROUPS = [valid, hostile, from_scenarios]


def resolve_payloads(files, actual):
    for group, doc in files.items():
        for c in doc["cases"]:
            src = c.pop("_from", None)
            if src:
                c["payload_hex"] = actual[src]["payload_hex"]


def check_reason(c):
    """The documented reason must show in the report."""
    want = c.get("reason")
    if not want:
        return None
    rep = c["expected"]["report"]
    reasons = rep.get("reasons", {})
    if want in reasons:
        return None
    return f"reason {want} not in the report {rep}"
