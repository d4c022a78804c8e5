/* Canonical OTLP/JSON renderer: exact output for hand-built and
 * protoc-encoded inputs, every special case of the profile, and malformed
 * inputs. The fuzz target is included for its JSON validator. */
#include "../../fuzz/fuzz_json.c"

#include "internal.h" /* ptel__put_varint, to build nested inputs */
#include "ptel/ptel.h"
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

static char out_buf[1 << 16];
static size_t out_len;
static uint8_t in_buf[1 << 16];

/* Render through both the size query and a real buffer; on success also
 * check that the two agree and that the output is valid JSON. */
static int render(uint32_t type, const uint8_t *in, size_t n, ptel_diag *diag) {
    size_t need = 12345;
    int rc = ptel_json_render(NULL, 0, &need, type, in, n, diag);
    out_len = 0;
    if (rc != PTEL_E_BUFFER_TOO_SMALL) {
        CHECK(rc != 0);
        CHECK_EQ_INT(need, 0);
        return rc;
    }
    CHECK(need <= sizeof out_buf);
    if (need > sizeof out_buf) return rc;
    rc = ptel_json_render(out_buf, sizeof out_buf, &out_len, type, in, n, diag);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(out_len, need);
    CHECK(fj_validate(out_buf, out_len));
    return rc;
}

static void expect_json_at(int line, uint32_t type, const uint8_t *in, size_t n, const char *json) {
    int rc = render(type, in, n, NULL);
    test_checks++;
    if (rc != 0 || out_len != strlen(json) || memcmp(out_buf, json, out_len) != 0) {
        test_failures++;
        fprintf(stderr, "%s:%d: %s: rc %d (%s)\n  got      %.*s\n  expected %s\n", __FILE__, line,
                test_current, rc, ptel_status_name(rc), (int)out_len, out_buf, json);
    }
}

static void expect_json_hex(int line, uint32_t type, const char *hex, const char *json) {
    size_t n = test_unhex(in_buf, hex);
    expect_json_at(line, type, in_buf, n, json);
}

static void expect_fail_at(int line, uint32_t type, const uint8_t *in, size_t n, int status,
                           uint64_t offset, uint32_t field) {
    ptel_diag d = {0, 0, 0, NULL};
    int rc = render(type, in, n, &d);
    test_checks++;
    if (rc != status || d.status != status || d.offset != offset || d.field != field || !d.reason) {
        test_failures++;
        fprintf(stderr,
                "%s:%d: %s: got rc %s offset %llu field %u (%s), expected %s offset %llu field "
                "%u\n",
                __FILE__, line, test_current, ptel_status_name(rc), (unsigned long long)d.offset,
                d.field, d.reason ? d.reason : "-", ptel_status_name(status),
                (unsigned long long)offset, field);
    }
}

static void expect_fail_hex(int line, uint32_t type, const char *hex, int status, uint64_t offset,
                            uint32_t field) {
    size_t n = test_unhex(in_buf, hex);
    expect_fail_at(line, type, in_buf, n, status, offset, field);
}

#define EXPECT_JSON(type, hex, json) expect_json_hex(__LINE__, type, hex, json)
#define EXPECT_FAIL(type, hex, status, offset, field)                                              \
    expect_fail_hex(__LINE__, type, hex, status, offset, field)

/* An AnyValue (hex) as the value of attribute "k" of an otherwise empty Span,
 * and the JSON value it must render as. */
static void expect_value_at(int line, const char *any_hex, const char *json_value) {
    uint8_t av[512];
    size_t n = test_unhex(av, any_hex);
    uint8_t span[600];
    size_t o = 0;
    span[o++] = 0x4a; /* Span.attributes */
    span[o++] = (uint8_t)(5 + n);
    memcpy(span + o, "\x0a\x01k\x12", 4); /* key "k", value */
    o += 4;
    span[o++] = (uint8_t)n;
    memcpy(span + o, av, n);
    o += n;
    char json[1024];
    snprintf(json, sizeof json, "{\"attributes\":[{\"key\":\"k\",\"value\":%s}]}", json_value);
    expect_json_at(line, PTEL_JSON_SPAN, span, o, json);
}
#define EXPECT_VALUE(any_hex, json_value) expect_value_at(__LINE__, any_hex, json_value)

/* AnyValue{double_value: v} as hex. */
static const char *double_any(double v) {
    static char hex[64];
    uint64_t u;
    memcpy(&u, &v, 8);
    int o = snprintf(hex, sizeof hex, "21");
    for (int i = 0; i < 8; i++)
        o += snprintf(hex + o, sizeof hex - (size_t)o, "%02x", (unsigned)(u >> (8 * i)) & 0xff);
    return hex;
}

/* ---- protoc-encoded vectors ---------------------------------------------- */

/* REFERENCE.md §1.4: ExportTraceServiceRequest from protoc --encode. */
static const char seed_trace_hex[] =
    "0a96010a180a160a0c736572766963652e6e616d6512060a04686f7374127a0a140a0b706c7567696e2e64656d"
    "6f1205312e302e3012620a104bf92f3577b34da6a3ce929d0e0e4736120800f067aa0ba902b72208123456789012"
    "34562a0d706c7567696e2e68616e646c65300139004859e3faeb6f15410012f41efbeb6f154a070a016e12021800"
    "7a081204626f6f6d1802850101030000";

static const char seed_trace_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
    "\"stringValue\":\"host\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"plugin.demo\","
    "\"version\":\"1.0.0\"},\"spans\":[{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
    "\"spanId\":\"00f067aa0ba902b7\",\"parentSpanId\":\"1234567890123456\",\"name\":"
    "\"plugin.handle\",\"kind\":1,\"startTimeUnixNano\":\"1544712660000000000\","
    "\"endTimeUnixNano\":\"1544712661000000000\",\"attributes\":[{\"key\":\"n\",\"value\":{"
    "\"intValue\":\"0\"}}],\"status\":{\"message\":\"boom\",\"code\":2},\"flags\":769}]}]}]}";

static void test_seed_trace_vector(void) {
    EXPECT_JSON(PTEL_JSON_TRACES_DATA, seed_trace_hex, seed_trace_json);
    /* The Span alone: the 98 bytes after "12 62" at offset 0x35. */
    uint8_t in[200];
    size_t n = test_unhex(in, seed_trace_hex);
    CHECK_EQ_INT(n, 153);
    expect_json_at(__LINE__, PTEL_JSON_SPAN, in + 0x37, 98,
                   "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":"
                   "\"00f067aa0ba902b7\",\"parentSpanId\":\"1234567890123456\",\"name\":"
                   "\"plugin.handle\",\"kind\":1,\"startTimeUnixNano\":\"1544712660000000000\","
                   "\"endTimeUnixNano\":\"1544712661000000000\",\"attributes\":[{\"key\":\"n\","
                   "\"value\":{\"intValue\":\"0\"}}],\"status\":{\"message\":\"boom\",\"code\":2},"
                   "\"flags\":769}");
}

/* protoc --encode=ptel.v1.PluginContext (proto/ptel/v1/plugin.proto). */
static void test_plugin_context_vector(void) {
    EXPECT_JSON(
        PTEL_JSON_PLUGIN_CONTEXT,
        "080112104bf92f3577b34da6a3ce929d0e0e47361a0800f067aa0ba902b7200328013227636f6e676f3d743631"
        "7263576b674d7a452c726f6a6f3d303066303637616130626139303262373a127573657249643d616c696365"
        "2c6b3d22762240024a1a0840108008180420102808302038204064480a50f4035880804051004859e3faeb6f"
        "155a0a7069692d66696c7465726205322e332e316a0f746f6f6c5f7072655f696e766f6b6570ffffffffffff"
        "ffffff01",
        "{\"protocolVersion\":1,\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"parentSpanId\":"
        "\"00f067aa0ba902b7\",\"traceFlags\":3,\"isRemote\":true,\"traceState\":"
        "\"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7\",\"baggage\":\"userId=alice,k=\\\"v\\\"\","
        "\"decision\":2,\"limits\":{\"attributeCount\":64,\"attributeValueLength\":1024,"
        "\"attributeDepth\":4,\"eventCount\":16,\"linkCount\":8,\"attributesPerEvent\":32,"
        "\"attributesPerLink\":32,\"spanCount\":100,\"metricCount\":10,\"metricCardinality\":500,"
        "\"payloadBytes\":1048576},\"timeBaseUnixNano\":\"1544712660000000000\",\"pluginName\":"
        "\"pii-filter\",\"pluginVersion\":\"2.3.1\",\"hook\":\"tool_pre_invoke\",\"features\":"
        "\"18446744073709551615\"}");
    /* PROTOCOL.md Appendix A (the PTEL_CONTEXT carrier example). */
    EXPECT_JSON(
        PTEL_JSON_PLUGIN_CONTEXT,
        "080112104bf92f3577b34da6a3ce929d0e0e47361a0800f067aa0ba902b7200128013211636f6e676f3d"
        "7436317263576b674d7a453a0b74656e616e743d61636d6540024a0640405880804051004859e3faeb6f"
        "155a0a7069692d66696c7465726205312e322e306a0f746f6f6c5f7072655f696e766f6b65",
        "{\"protocolVersion\":1,\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"parentSpanId\":\"00f067aa0ba902b7\",\"traceFlags\":1,\"isRemote\":true,"
        "\"traceState\":\"congo=t61rcWkgMzE\",\"baggage\":\"tenant=acme\",\"decision\":2,"
        "\"limits\":{\"spanCount\":64,\"payloadBytes\":1048576},\"timeBaseUnixNano\":"
        "\"1544712660000000000\",\"pluginName\":\"pii-filter\",\"pluginVersion\":\"1.2.0\","
        "\"hook\":\"tool_pre_invoke\"}");
    /* Defaults: an empty context renders as an empty object; an all-zero
     * limits message is still present. */
    EXPECT_JSON(PTEL_JSON_PLUGIN_CONTEXT, "", "{}");
    EXPECT_JSON(PTEL_JSON_PLUGIN_CONTEXT, "0800 2000 2800 4000 4a00 5100000000000000007000",
                "{\"limits\":{}}");
}

/* protoc --encode=ptel.v1.PluginTelemetry: a span with every field, a
 * counter with as_int 0, a histogram with sum 0 / min 0 / max 5e-324, an
 * exemplar, an open span and drop counts. */
static void test_plugin_telemetry_vector(void) {
    EXPECT_JSON(
        PTEL_JSON_PLUGIN_TELEMETRY,
        "080112e7010a104bf92f3577b34da6a3ce929d0e0e473612080102030405060708220800f067aa0ba902b72a04"
        "7363616e300339014859e3faeb6f154100ad2601fbeb6f154a120a05726174696f1209219a9999999999b93f"
        "4a190a047461677312112a0f0a030a01610a0210000a043a0200ff4a190a016d121432120a100a0178120b18"
        "d6ffffffffffffffff0150025a210900294fe9faeb6f1512036869741a0f0a016e120a18ffffffffffffffff"
        "7f200160036a280a10ffffffffffffffffffffffffffffffff1208aabbccddeeff00111a03613d6228043501"
        "01000070057a0218018501010000001a520a0c706c7567696e2e63616c6c731a067b63616c6c7d3a3a0a3411"
        "01000000000000001902000000000000003100000000000000003a170a0a6572726f722e7479706512090a07"
        "74696d656f7574100118011ac3010a0f706c7567696e2e6475726174696f6e121a4475726174696f6e206f66"
        "2022706c7567696e222063616c6c731a01734a90010a8b011902000000000000002103000000000000002900"
        "0000000000000032180000000000000000020000000000000001000000000000003a107b14ae47e17a743f50"
        "efe2d6e41a4b44422e1102000000000000001948afbc9af2d77a3e220801020304050607082a104bf92f3577"
        "b34da6a3ce929d0e0e473650015900000000000000006101000000000000001001222b0a104bf92f3577b34d"
        "a6a3ce929d0e0e4736120811121314151617182a046f70656e3905000000000000002a080801100218032004",
        "{\"protocolVersion\":1,\"spans\":[{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"spanId\":\"0102030405060708\",\"parentSpanId\":\"00f067aa0ba902b7\",\"name\":\"scan\","
        "\"kind\":3,\"startTimeUnixNano\":\"1544712660000000001\",\"endTimeUnixNano\":"
        "\"1544712660500000000\",\"attributes\":[{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.1}"
        "},{\"key\":\"tags\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},{"
        "\"boolValue\":false},{\"bytesValue\":\"AP8=\"}]}}},{\"key\":\"m\",\"value\":{"
        "\"kvlistValue\":{\"values\":[{\"key\":\"x\",\"value\":{\"intValue\":\"-42\"}}]}}}],"
        "\"droppedAttributesCount\":2,\"events\":[{\"timeUnixNano\":\"1544712660100000000\","
        "\"name\":\"hit\",\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":"
        "\"9223372036854775807\"}}],\"droppedAttributesCount\":1}],\"droppedEventsCount\":3,"
        "\"links\":[{\"traceId\":\"ffffffffffffffffffffffffffffffff\",\"spanId\":"
        "\"aabbccddeeff0011\",\"traceState\":\"a=b\",\"droppedAttributesCount\":4,\"flags\":257}],"
        "\"droppedLinksCount\":5,\"status\":{\"code\":1},\"flags\":1}],\"metrics\":[{\"name\":"
        "\"plugin.calls\",\"unit\":\"{call}\",\"sum\":{\"dataPoints\":[{\"startTimeUnixNano\":"
        "\"1\",\"timeUnixNano\":\"2\",\"asInt\":\"0\",\"attributes\":[{\"key\":\"error.type\","
        "\"value\":{\"stringValue\":\"timeout\"}}]}],\"aggregationTemporality\":1,\"isMonotonic\":"
        "true}},{\"name\":\"plugin.duration\",\"description\":\"Duration of \\\"plugin\\\" calls\","
        "\"unit\":\"s\",\"histogram\":{\"dataPoints\":[{\"timeUnixNano\":\"2\",\"count\":\"3\","
        "\"sum\":0,\"bucketCounts\":[\"0\",\"2\",\"1\"],\"explicitBounds\":[0.005,1e+21],"
        "\"exemplars\":[{\"timeUnixNano\":\"2\",\"asDouble\":1e-7,\"spanId\":\"0102030405060708\","
        "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}],\"flags\":1,\"min\":0,\"max\":5e-324}],"
        "\"aggregationTemporality\":1}}],\"openSpans\":[{\"traceId\":"
        "\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"1112131415161718\",\"name\":\"open\","
        "\"startTimeUnixNano\":\"5\"}],\"dropped\":{\"spans\":1,\"metrics\":2,\"metricPoints\":3,"
        "\"errors\":4}}");
}

/* protoc --encode=ptel.v1.ExportMetricsServiceRequest: resource and scope
 * with counts, a gauge (uint64 max time, int64 min), an exponential
 * histogram (scale -1, offset -2, packed-varint counts, uint64 max count,
 * min -0) and a summary (quantile 0 omitted, empty attribute value). */
static void test_metrics_vector(void) {
    EXPECT_JSON(
        PTEL_JSON_METRICS_DATA,
        "0ab9020a1a0a160a0c736572766963652e6e616d6512060a04686f737410011283020a1f0a0b706c7567696e"
        "2e64656d6f1205312e302e301a070a016112021001200212260a01672a210a1419ffffffffffffffff210000"
        "00000000f8bf40010a09310000000000000080124e0a016552490a4521020000000000000029000000000000"
        "0a40300142060803120201014a0c120affffffffffffffffff016100000000000000806900000000000059"
        "407159f3f8c21f6ea5011002123f0a01735a3a0a38210400000000000000290000000000002440320911000000"
        "000000f03f321209000000000000f03f1100000000000010403a050a017112001a2768747470733a2f2f6f70"
        "656e74656c656d657472792e696f2f736368656d61732f312e32362e301a1568747470733a2f2f6578616d70"
        "6c652e636f6d2f72",
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"host\"}}],\"droppedAttributesCount\":1},\"scopeMetrics\":[{"
        "\"scope\":{\"name\":\"plugin.demo\",\"version\":\"1.0.0\",\"attributes\":[{\"key\":\"a\","
        "\"value\":{\"boolValue\":true}}],\"droppedAttributesCount\":2},\"metrics\":[{\"name\":"
        "\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"18446744073709551615\",\"asDouble\":"
        "-1.5,\"flags\":1},{\"asInt\":\"-9223372036854775808\"}]}},{\"name\":\"e\","
        "\"exponentialHistogram\":{\"dataPoints\":[{\"count\":\"2\",\"sum\":3.25,\"scale\":-1,"
        "\"positive\":{\"offset\":-2,\"bucketCounts\":[\"1\",\"1\"]},\"negative\":{"
        "\"bucketCounts\":[\"18446744073709551615\"]},\"min\":-0,\"max\":100,\"zeroThreshold\":"
        "1e-300}],\"aggregationTemporality\":2}},{\"name\":\"s\",\"summary\":{\"dataPoints\":[{"
        "\"count\":\"4\",\"sum\":10,\"quantileValues\":[{\"value\":1},{\"quantile\":1,\"value\":4}"
        "],\"attributes\":[{\"key\":\"q\",\"value\":{}}]}]}}],\"schemaUrl\":"
        "\"https://opentelemetry.io/schemas/1.26.0\"}],\"schemaUrl\":\"https://example.com/r\"}]}");
}

/* ---- AnyValue and scalar kinds ------------------------------------------- */

static void test_any_value_members(void) {
    EXPECT_VALUE("1800", "{\"intValue\":\"0\"}"); /* oneof: 0 kept */
    EXPECT_VALUE("1805", "{\"intValue\":\"5\"}");
    EXPECT_VALUE("18ffffffffffffffffff01", "{\"intValue\":\"-1\"}");
    EXPECT_VALUE("18ffffffffffffffff7f", "{\"intValue\":\"9223372036854775807\"}");
    EXPECT_VALUE("1880808080808080808001", "{\"intValue\":\"-9223372036854775808\"}");
    EXPECT_VALUE("1000", "{\"boolValue\":false}");
    EXPECT_VALUE("1001", "{\"boolValue\":true}");
    EXPECT_VALUE("1002", "{\"boolValue\":true}");   /* any non-zero varint is true */
    EXPECT_VALUE("0a00", "{\"stringValue\":\"\"}"); /* empty string attribute */
    EXPECT_VALUE("0a03616263", "{\"stringValue\":\"abc\"}");
    EXPECT_VALUE("3a00", "{\"bytesValue\":\"\"}");
    EXPECT_VALUE("3a0101", "{\"bytesValue\":\"AQ==\"}");
    EXPECT_VALUE("3a020102", "{\"bytesValue\":\"AQI=\"}");
    EXPECT_VALUE("3a03010203", "{\"bytesValue\":\"AQID\"}");
    EXPECT_VALUE("3a04fbff00ff", "{\"bytesValue\":\"+/8A/w==\"}");
    EXPECT_VALUE("210000000000000000", "{\"doubleValue\":0}");
    EXPECT_VALUE("", "{}"); /* the empty value */
    EXPECT_VALUE("2a00", "{\"arrayValue\":{}}");
    EXPECT_VALUE("3200", "{\"kvlistValue\":{}}");
    EXPECT_VALUE("2a08 0a00 0a021800 0a00",
                 "{\"arrayValue\":{\"values\":[{},{\"intValue\":\"0\"},{}]}}");
    EXPECT_VALUE(
        "3209 0a07 0a0161 12021000",
        "{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"boolValue\":false}}]}}");
    /* Oneof: the member that occurs last wins; the others are not rendered. */
    EXPECT_VALUE("0a01611805", "{\"intValue\":\"5\"}");
    EXPECT_VALUE("18050a0161", "{\"stringValue\":\"a\"}");
    EXPECT_VALUE("1801 1802 1803", "{\"intValue\":\"3\"}");
    /* string_value_strindex (profiles only) is a oneof member never rendered:
     * alone or last it leaves the value empty; before another member it
     * loses. */
    EXPECT_VALUE("4007", "{}");
    EXPECT_VALUE("0a01614003", "{}");
    EXPECT_VALUE("40030a0161", "{\"stringValue\":\"a\"}");
}

/* A long bytes value crosses the renderer's 48-byte base64 chunks. */
static void test_bytes_base64_long(void) {
    char any[400], want[200];
    int o = snprintf(any, sizeof any, "3a64");
    for (int i = 0; i < 100; i++) o += snprintf(any + o, sizeof any - (size_t)o, "%02x", i);
    snprintf(want, sizeof want, "{\"bytesValue\":\"%s\"}",
             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+"
             "P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==");
    EXPECT_VALUE(any, want);
}

static void test_double_values(void) {
    EXPECT_VALUE(double_any(NAN), "{\"doubleValue\":\"NaN\"}");
    EXPECT_VALUE("21010000000000f87f", "{\"doubleValue\":\"NaN\"}"); /* NaN payload */
    EXPECT_VALUE("21000000000000f8ff", "{\"doubleValue\":\"NaN\"}"); /* negative NaN */
    EXPECT_VALUE(double_any(INFINITY), "{\"doubleValue\":\"Infinity\"}");
    EXPECT_VALUE(double_any(-INFINITY), "{\"doubleValue\":\"-Infinity\"}");
    EXPECT_VALUE(double_any(-0.0), "{\"doubleValue\":-0}");
    EXPECT_VALUE(double_any(0.0), "{\"doubleValue\":0}");
    EXPECT_VALUE(double_any(0.1), "{\"doubleValue\":0.1}");
    EXPECT_VALUE(double_any(1e21), "{\"doubleValue\":1e+21}");
    EXPECT_VALUE(double_any(1e-7), "{\"doubleValue\":1e-7}");
    EXPECT_VALUE(double_any(5e-324), "{\"doubleValue\":5e-324}");
    EXPECT_VALUE(double_any(-2.5), "{\"doubleValue\":-2.5}");
}

static void expect_double_at(int line, double v, const char *want) {
    char out[32];
    memset(out, 'x', sizeof out);
    size_t n = ptel_json_format_double(out, v);
    test_checks++;
    if (n != strlen(want) || memcmp(out, want, n) != 0) {
        test_failures++;
        fprintf(stderr, "%s:%d: %s: %.17g formatted as %.*s, expected %s\n", __FILE__, line,
                test_current, v, (int)n, out, want);
    }
}
#define EXPECT_DOUBLE(v, want) expect_double_at(__LINE__, v, want)

/* Expected strings are ECMAScript Number::toString, checked against
 * Python's repr (shortest round trip) by hand. */
static void test_double_format(void) {
    EXPECT_DOUBLE(0.0, "0");
    EXPECT_DOUBLE(-0.0, "-0");
    EXPECT_DOUBLE(5.0, "5");
    EXPECT_DOUBLE(-5.0, "-5");
    EXPECT_DOUBLE(100.0, "100");
    EXPECT_DOUBLE(1.5, "1.5");
    EXPECT_DOUBLE(0.1, "0.1");
    EXPECT_DOUBLE(0.3, "0.3");
    EXPECT_DOUBLE(0.1 + 0.2, "0.30000000000000004");
    EXPECT_DOUBLE(1.0 / 3.0, "0.3333333333333333");
    EXPECT_DOUBLE(2.0 / 3.0, "0.6666666666666666");
    EXPECT_DOUBLE(123.456, "123.456");
    EXPECT_DOUBLE(0.005, "0.005");
    EXPECT_DOUBLE(1e-6, "0.000001");
    EXPECT_DOUBLE(1.5e-6, "0.0000015");
    EXPECT_DOUBLE(-1.2345678901234567e-6, "-0.0000012345678901234567");
    EXPECT_DOUBLE(1e-7, "1e-7");
    EXPECT_DOUBLE(1.5e-7, "1.5e-7");
    EXPECT_DOUBLE(1e20, "100000000000000000000");
    EXPECT_DOUBLE(123456789012345680000.0, "123456789012345680000");
    EXPECT_DOUBLE(1e21, "1e+21");
    EXPECT_DOUBLE(1.5e21, "1.5e+21");
    EXPECT_DOUBLE(1e100, "1e+100");
    EXPECT_DOUBLE(9007199254740992.0, "9007199254740992");
    EXPECT_DOUBLE(9007199254740993.0, "9007199254740992");
    EXPECT_DOUBLE(1544712660000000000.0, "1544712660000000000");
    EXPECT_DOUBLE(5e-324, "5e-324");
    EXPECT_DOUBLE(-5e-324, "-5e-324");
    EXPECT_DOUBLE(DBL_MIN, "2.2250738585072014e-308");
    EXPECT_DOUBLE(DBL_MAX, "1.7976931348623157e+308");
    EXPECT_DOUBLE(-DBL_MAX, "-1.7976931348623157e+308");
    EXPECT_DOUBLE(DBL_EPSILON, "2.220446049250313e-16");
    /* Powers of two where the nearest 16-digit decimal falls outside the
     * (lopsided) round-trip interval but the next one up is inside. */
    EXPECT_DOUBLE(ldexp(1.0, -24), "5.960464477539063e-8");
    EXPECT_DOUBLE(ldexp(1.0, -44), "5.684341886080802e-14");
    EXPECT_DOUBLE(ldexp(1.0, 89), "6.189700196426902e+26");
    EXPECT_DOUBLE(ldexp(1.0, -1017), "7.120236347223045e-307");
    EXPECT_DOUBLE(NAN, "\"NaN\"");
    EXPECT_DOUBLE(INFINITY, "\"Infinity\"");
    EXPECT_DOUBLE(-INFINITY, "\"-Infinity\"");
}

/* Every finite double is valid JSON and reads back exactly: checked on a
 * deterministic pseudo-random sample of bit patterns. (Shortness was
 * cross-checked offline against Python's repr on a larger sample.) */
static void test_double_round_trip_sample(void) {
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double v;
        memcpy(&v, &s, 8);
        if (!isfinite(v)) continue;
        char out[40];
        size_t n = ptel_json_format_double(out, v);
        out[n] = '\0';
        if (n > 25 || !fj_validate(out, n) || strtod(out, NULL) != v) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- spans and the profile's defaults ------------------------------------- */

static void test_span_defaults_and_kinds(void) {
    /* Zero scalars and empty strings/bytes are omitted; a present message
     * (status) is kept even when empty. */
    EXPECT_JSON(PTEL_JSON_SPAN,
                "0a00 1200 1a00 2200 2a00 3000 390000000000000000 410000000000000000 5000 6000 "
                "7000 8501 00000000 7a00",
                "{\"status\":{}}");
    /* Negative enum (a 10-byte varint) is the int32 value. */
    EXPECT_JSON(PTEL_JSON_SPAN, "30ffffffffffffffffff01", "{\"kind\":-1}");
    /* uint32 keeps the low 32 bits of an over-long varint, like protobuf. */
    EXPECT_JSON(PTEL_JSON_SPAN, "508580808010", "{\"droppedAttributesCount\":5}");
    EXPECT_JSON(PTEL_JSON_SPAN, "508080808010", "{}");
    EXPECT_JSON(PTEL_JSON_SPAN, "50ffffffff0f", "{\"droppedAttributesCount\":4294967295}");
    EXPECT_JSON(PTEL_JSON_SPAN, "8501ffffffff", "{\"flags\":4294967295}");
    EXPECT_JSON(PTEL_JSON_SPAN, "39ffffffffffffffff",
                "{\"startTimeUnixNano\":\"18446744073709551615\"}");
    /* Ids of any length are hex; parentSpanId too. */
    EXPECT_JSON(PTEL_JSON_SPAN, "0a01ab 1203abcdef 2202ABCD",
                "{\"traceId\":\"ab\",\"spanId\":\"abcdef\",\"parentSpanId\":\"abcd\"}");
    /* A singular field that repeats: the last occurrence wins. */
    EXPECT_JSON(PTEL_JSON_SPAN, "2a0161 3001 2a0162 3002", "{\"name\":\"b\",\"kind\":2}");
    EXPECT_JSON(PTEL_JSON_SPAN, "2a0161 2a00", "{}");
    EXPECT_JSON(PTEL_JSON_SPAN, "7a021801 7a00", "{\"status\":{}}");
    /* Output order is field-number order, whatever the wire order. */
    EXPECT_JSON(PTEL_JSON_SPAN, "850101000000 7a021802 2a0178 0a0101",
                "{\"traceId\":\"01\",\"name\":\"x\",\"status\":{\"code\":2},\"flags\":1}");
    /* Repeated messages keep wire order even when interleaved. */
    EXPECT_JSON(PTEL_JSON_SPAN, "4a030a0161 2a0178 4a030a0162 5a00 4a030a0163",
                "{\"name\":\"x\",\"attributes\":[{\"key\":\"a\"},{\"key\":\"b\"},{\"key\":\"c\"}],"
                "\"events\":[{}]}");
    /* Event and link: every field. */
    EXPECT_JSON(PTEL_JSON_SPAN,
                "5a11 090100000000000000 12026576 1a00 2007 "
                "6a19 0a0201ff 1202fe00 1a03613d62 2203 0a0178 2809 3503020000",
                "{\"events\":[{\"timeUnixNano\":\"1\",\"name\":\"ev\",\"attributes\":[{}],"
                "\"droppedAttributesCount\":7}],\"links\":[{\"traceId\":\"01ff\",\"spanId\":"
                "\"fe00\",\"traceState\":\"a=b\",\"attributes\":[{\"key\":\"x\"}],"
                "\"droppedAttributesCount\":9,\"flags\":515}]}");
}

static void test_strings(void) {
    /* Minimal escaping: quote, backslash, the five short escapes, other
     * controls as \u00xx (lowercase); DEL and non-ASCII pass through. */
    EXPECT_JSON(PTEL_JSON_SPAN, "2a0f 225c 08 0c 0a 0d 09 00 01 1f 7f 2f 41 c3a9",
                "{\"name\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f/A\xc3\xa9\"}");
    EXPECT_JSON(PTEL_JSON_SPAN, "2a0a c3a9 e282ac f09f9880 1b",
                "{\"name\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u001b\"}");
    EXPECT_JSON(PTEL_JSON_SPAN, "2a03 e280a8", "{\"name\":\"\xe2\x80\xa8\"}"); /* U+2028 */
    EXPECT_JSON(PTEL_JSON_SPAN, "2a04 f48fbfbf", "{\"name\":\"\xf4\x8f\xbf\xbf\"}");
}

/* ---- metrics --------------------------------------------------------------- */

static void test_histogram_repeated_scalars(void) {
    /* Metric{name "h", histogram{dataPoints[...]}} with packed, unpacked and
     * mixed bucket counts (fixed64) and bounds (double). */
    const char *pre = "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{";
    char want[512];

    /* packed */
    snprintf(want, sizeof want, "%s%s", pre,
             "\"count\":\"3\",\"sum\":0,\"bucketCounts\":[\"1\",\"18446744073709551615\"],"
             "\"explicitBounds\":[0.5,-0]}]}}");
    EXPECT_JSON(PTEL_JSON_METRIC,
                "0a0168 4a38 0a36 210300000000000000 290000000000000000 "
                "3210 0100000000000000 ffffffffffffffff "
                "3a10 000000000000e03f 0000000000000080",
                want);
    /* unpacked, and mixed with an empty packed run */
    EXPECT_JSON(PTEL_JSON_METRIC,
                "0a0168 4a3b 0a39 210300000000000000 290000000000000000 "
                "310100000000000000 3200 31ffffffffffffffff "
                "39000000000000e03f 3a08 0000000000000080",
                want);
    /* only empty packed runs: the field is empty and omitted */
    EXPECT_JSON(PTEL_JSON_METRIC, "0a0168 4a06 0a04 3200 3a00",
                "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{}]}}");
    /* optional min/max/sum present at zero; flags; aggregation temporality */
    EXPECT_JSON(PTEL_JSON_METRIC,
                "4a23 0a1f 5000 590000000000000000 610000000000000080 5001 "
                "290000000000000000 1001",
                "{\"histogram\":{\"dataPoints\":[{\"sum\":0,\"flags\":1,\"min\":0,\"max\":-0}],"
                "\"aggregationTemporality\":1}}");
}

static void test_exp_histogram_buckets(void) {
    /* sint32 scale/offset (zigzag), packed and unpacked varint counts. */
    EXPECT_JSON(PTEL_JSON_METRIC,
                "5228 0a26 30feffffff0f 420c 08ffffffff0f 1202 0100 1001 "
                "4a10 0801 120affffffffffffffffff01 1200",
                "{\"exponentialHistogram\":{\"dataPoints\":[{\"scale\":2147483647,\"positive\":{"
                "\"offset\":-2147483648,\"bucketCounts\":[\"1\",\"0\",\"1\"]},\"negative\":{"
                "\"offset\":-1,\"bucketCounts\":[\"18446744073709551615\"]}}]}}");
    EXPECT_JSON(PTEL_JSON_METRIC, "5206 0a04 3001 4200",
                "{\"exponentialHistogram\":{\"dataPoints\":[{\"scale\":-1,\"positive\":{}}]}}");
}

static void test_number_points_and_exemplars(void) {
    /* as_int 0 is kept (oneof); as_double/as_int: last wins; exemplar ids. */
    EXPECT_JSON(PTEL_JSON_METRIC, "2a0b 0a09 310000000000000000",
                "{\"gauge\":{\"dataPoints\":[{\"asInt\":\"0\"}]}}");
    EXPECT_JSON(PTEL_JSON_METRIC, "2a0b 0a09 210000000000000000",
                "{\"gauge\":{\"dataPoints\":[{\"asDouble\":0}]}}");
    EXPECT_JSON(PTEL_JSON_METRIC, "2a14 0a12 31feffffffffffffff 21000000000000f03f",
                "{\"gauge\":{\"dataPoints\":[{\"asDouble\":1}]}}");
    EXPECT_JSON(PTEL_JSON_METRIC, "2a14 0a12 21000000000000f03f 31feffffffffffffff",
                "{\"gauge\":{\"dataPoints\":[{\"asInt\":\"-2\"}]}}");
    EXPECT_JSON(PTEL_JSON_METRIC,
                "3a1e 0a1c 2a1a 310000000000000000 2202 aabb 2a04 00010203 3a05 0a03 6b6579",
                "{\"sum\":{\"dataPoints\":[{\"exemplars\":[{\"spanId\":\"aabb\",\"traceId\":"
                "\"00010203\",\"asInt\":\"0\",\"filteredAttributes\":[{\"key\":\"key\"}]}]}]}}");
    /* Metric data oneof: the last member wins; metadata is rendered. */
    EXPECT_JSON(PTEL_JSON_METRIC, "2a00 3a00", "{\"sum\":{}}");
    EXPECT_JSON(PTEL_JSON_METRIC, "5a00 2a00 6203 0a0161",
                "{\"gauge\":{},\"metadata\":[{\"key\":\"a\"}]}");
    EXPECT_JSON(PTEL_JSON_METRIC, "5a00", "{\"summary\":{}}");
    EXPECT_JSON(PTEL_JSON_METRIC, "1a00 1200 0a00", "{}");
}

static void test_resource_entity_refs(void) {
    EXPECT_JSON(PTEL_JSON_TRACES_DATA, "0a17 0a15 1a13 0a0175 12027420 1a0161 1a00 22026231 1a0162",
                "{\"resourceSpans\":[{\"resource\":{\"entityRefs\":[{\"schemaUrl\":\"u\",\"type\":"
                "\"t \",\"idKeys\":[\"a\",\"\",\"b\"],\"descriptionKeys\":[\"b1\"]}]}}]}");
}

/* Unknown and reserved fields of every wire type are skipped. */
static void test_unknown_fields_skipped(void) {
    EXPECT_JSON(PTEL_JSON_SPAN,
                "880105 a2060261 62 a50101020304 a901 0102030405060708 2a0178 "
                "7a05 0a0178 1802",
                "{\"name\":\"x\",\"status\":{\"code\":2}}");
    /* ResourceSpans 1000 (old instrumentation_library_spans), KeyValue 3
     * (key_strindex), Metric 4/6/8, data point field 1. */
    EXPECT_JSON(PTEL_JSON_TRACES_DATA, "0a05 c23e020a00", "{\"resourceSpans\":[{}]}");
    EXPECT_JSON(PTEL_JSON_SPAN, "4a05 0a016b 1807", "{\"attributes\":[{\"key\":\"k\"}]}");
    EXPECT_JSON(PTEL_JSON_METRIC, "2200 3200 4200 2a04 0a02 0801",
                "{\"gauge\":{\"dataPoints\":[{}]}}");
    EXPECT_JSON(PTEL_JSON_PLUGIN_TELEMETRY, "0801 5200 5a00 f80601", "{\"protocolVersion\":1}");
}

/* ---- malformed input --------------------------------------------------------- */

static void test_truncated(void) {
    uint8_t in[200];
    size_t n = test_unhex(in, seed_trace_hex);
    /* Every proper prefix of the request ends inside the top-level field. */
    for (size_t k = 1; k < n; k++)
        expect_fail_at(__LINE__, PTEL_JSON_TRACES_DATA, in, k, PTEL_E_TRUNCATED, 0, 1);
    expect_json_at(__LINE__, PTEL_JSON_TRACES_DATA, in, 0, "{}");
    /* Prefixes of the Span body succeed exactly at its 10 field boundaries. */
    int ok = 0, other = 0;
    for (size_t k = 0; k < 98; k++) {
        int rc = render(PTEL_JSON_SPAN, in + 0x37, k, NULL);
        if (rc == 0)
            ok++;
        else if (rc != PTEL_E_TRUNCATED)
            other++;
    }
    CHECK_EQ_INT(ok, 10);
    CHECK_EQ_INT(other, 0);
    EXPECT_FAIL(PTEL_JSON_SPAN, "39010203", PTEL_E_TRUNCATED, 0, 7);
    EXPECT_FAIL(PTEL_JSON_SPAN, "8501 0102", PTEL_E_TRUNCATED, 0, 16);
    EXPECT_FAIL(PTEL_JSON_SPAN, "30ff", PTEL_E_TRUNCATED, 0, 6);
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a0361", PTEL_E_TRUNCATED, 0, 5);
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a00 85", PTEL_E_TRUNCATED, 2, 0);
    /* A truncated varint inside a packed run. */
    EXPECT_FAIL(PTEL_JSON_METRIC, "5208 0a06 4204 1202 0180", PTEL_E_TRUNCATED, 9, 2);
}

static void test_malformed(void) {
    /* Wrong wire type for a known field, at every level. */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2801", PTEL_E_MALFORMED, 0, 5);
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a00 3200", PTEL_E_MALFORMED, 2, 6);
    EXPECT_FAIL(PTEL_JSON_SPAN, "7a02 1a00", PTEL_E_MALFORMED, 2, 3);
    EXPECT_FAIL(PTEL_JSON_SPAN, "8101 0000000000000000", PTEL_E_MALFORMED, 0, 16);
    EXPECT_FAIL(PTEL_JSON_SPAN, "4a0b 1209 190000000000000000", PTEL_E_MALFORMED, 4, 3);
    EXPECT_FAIL(PTEL_JSON_PLUGIN_TELEMETRY, "1001", PTEL_E_MALFORMED, 0, 2);
    EXPECT_FAIL(PTEL_JSON_PLUGIN_CONTEXT, "4a05 0d00000000", PTEL_E_MALFORMED, 2, 1);
    /* Repeated non-packable fields refuse scalar wire types. */
    EXPECT_FAIL(PTEL_JSON_SPAN, "4801", PTEL_E_MALFORMED, 0, 9);
    /* A bad scalar wire type for a packable field (fixed64 as varint). */
    EXPECT_FAIL(PTEL_JSON_METRIC, "4a04 0a02 3001", PTEL_E_MALFORMED, 4, 6);
    /* Packed run whose length is not a multiple of the element size. */
    EXPECT_FAIL(PTEL_JSON_METRIC, "4a09 0a07 3205 0102030405", PTEL_E_MALFORMED, 4, 6);
    EXPECT_FAIL(PTEL_JSON_METRIC, "4a0f 0a0d 3a08 00000000000000f0 3a01 00", PTEL_E_MALFORMED, 14,
                7);
    /* Framing: field number 0, groups, reserved wire types, 11-byte varint. */
    EXPECT_FAIL(PTEL_JSON_SPAN, "0000", PTEL_E_MALFORMED, 0, 0);
    EXPECT_FAIL(PTEL_JSON_SPAN, "0b0c", PTEL_E_MALFORMED, 0, 1);
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a0178 0e", PTEL_E_MALFORMED, 3, 1);
    EXPECT_FAIL(PTEL_JSON_SPAN, "30ffffffffffffffffff7f", PTEL_E_MALFORMED, 0, 6);
    EXPECT_FAIL(PTEL_JSON_SPAN, "30ffffffffffffffffffff01", PTEL_E_MALFORMED, 0, 6);
    /* A nested message whose own bytes are malformed. */
    EXPECT_FAIL(PTEL_JSON_TRACES_DATA, "0a03 0a01 ff", PTEL_E_TRUNCATED, 4, 0);
    /* An earlier fault wins over a later one in the same message. */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2801 2a01", PTEL_E_MALFORMED, 0, 5);
}

static void test_invalid_utf8(void) {
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a02 c328", PTEL_E_UTF8, 0, 5);     /* bad continuation */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a02 c0af", PTEL_E_UTF8, 0, 5);     /* overlong */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a03 eda080", PTEL_E_UTF8, 0, 5);   /* surrogate */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a04 f4908080", PTEL_E_UTF8, 0, 5); /* > U+10FFFF */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a02 e282", PTEL_E_UTF8, 0, 5);     /* truncated */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a01 80", PTEL_E_UTF8, 0, 5);       /* lone continuation */
    EXPECT_FAIL(PTEL_JSON_SPAN, "2a01 ff", PTEL_E_UTF8, 0, 5);
    EXPECT_FAIL(PTEL_JSON_SPAN, "1a01 ff", PTEL_E_UTF8, 0, 3);          /* traceState */
    EXPECT_FAIL(PTEL_JSON_SPAN, "4a03 0a01fe", PTEL_E_UTF8, 2, 1);      /* attribute key */
    EXPECT_FAIL(PTEL_JSON_SPAN, "4a05 1203 0a01fe", PTEL_E_UTF8, 4, 1); /* string value */
    EXPECT_FAIL(PTEL_JSON_TRACES_DATA, "0a07 0a05 1a03 1a01ff", PTEL_E_UTF8, 6, 3); /* idKeys */
    EXPECT_FAIL(PTEL_JSON_PLUGIN_CONTEXT, "6a01 c3", PTEL_E_UTF8, 0, 13);
    /* Bytes are not text: any byte values render. */
    EXPECT_VALUE("3a02c328", "{\"bytesValue\":\"wyg=\"}");
}

/* A Span whose deepest message is at level `levels` (>= 3): Span(1) >
 * KeyValue(2) > AnyValue(3) > ArrayValue(4) > AnyValue(5) > ... Built from the
 * inside out at the end of `buf`; returns the start, length in *n. */
static uint8_t *nested_span(uint8_t *buf, size_t cap, int levels, size_t *n) {
    uint8_t *p = buf + cap;
    size_t len = 0;
    for (int lv = levels; lv >= 3; lv--) {
        uint8_t hdr[12];
        uint8_t *h = ptel__put_varint(hdr + 1, len);
        hdr[0] = lv % 2 == 0 ? 0x2a /* AnyValue.array_value */
                 : lv >= 5   ? 0x0a /* ArrayValue.values */
                             : 0x12;  /* KeyValue.value */
        size_t hn = (size_t)(h - hdr);
        p -= hn;
        memcpy(p, hdr, hn);
        len += hn;
    }
    p -= 3;
    memcpy(p, "\x0a\x01k", 3);
    len += 3;
    uint8_t hdr[12];
    uint8_t *h = ptel__put_varint(hdr + 1, len);
    hdr[0] = 0x4a;
    size_t hn = (size_t)(h - hdr);
    p -= hn;
    memcpy(p, hdr, hn);
    *n = len + hn;
    return p;
}

static void test_depth(void) {
    static uint8_t buf[8192];
    static char want[8192];
    size_t n;
    /* 64 levels render. */
    uint8_t *p = nested_span(buf, sizeof buf, PTEL_JSON_MAX_DEPTH, &n);
    size_t o = (size_t)snprintf(want, sizeof want, "{\"attributes\":[{\"key\":\"k\",\"value\":");
    for (int lv = 3; lv < PTEL_JSON_MAX_DEPTH; lv++)
        o += (size_t)snprintf(want + o, sizeof want - o, "%s",
                              lv % 2 ? "{\"arrayValue\":" : "{\"values\":[");
    o += (size_t)snprintf(want + o, sizeof want - o, "{}");
    for (int lv = PTEL_JSON_MAX_DEPTH - 1; lv >= 3; lv--)
        o += (size_t)snprintf(want + o, sizeof want - o, "%s", lv % 2 ? "}" : "]}");
    snprintf(want + o, sizeof want - o, "}]}");
    expect_json_at(__LINE__, PTEL_JSON_SPAN, p, n, want);
    /* 65 levels: the 65th message starts at the end of the input (it is
     * empty), and that is where the failure is reported. */
    p = nested_span(buf, sizeof buf, PTEL_JSON_MAX_DEPTH + 1, &n);
    expect_fail_at(__LINE__, PTEL_JSON_SPAN, p, n, PTEL_E_DEPTH, n, 0);
    /* A deep bomb fails the same way, without rendering anything. */
    p = nested_span(buf, sizeof buf, 2000, &n);
    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(render(PTEL_JSON_SPAN, p, n, &d), PTEL_E_DEPTH);
    CHECK(d.offset < n);
}

/* ---- API contract ---------------------------------------------------------- */

static void test_size_query(void) {
    uint8_t in[200];
    size_t n = test_unhex(in, seed_trace_hex);
    size_t want = strlen(seed_trace_json), need = 0;
    char buf[1024];
    ptel_diag d = {0, 0, 0, NULL};

    CHECK_EQ_INT(ptel_json_render(NULL, 0, &need, PTEL_JSON_TRACES_DATA, in, n, &d),
                 PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(need, want);
    CHECK_EQ_INT(d.status, PTEL_E_BUFFER_TOO_SMALL);
    need = 0;
    CHECK_EQ_INT(ptel_json_render(NULL, 500, &need, PTEL_JSON_TRACES_DATA, in, n, NULL),
                 PTEL_E_BUFFER_TOO_SMALL); /* NULL buf: cap ignored */
    CHECK_EQ_INT(need, want);
    need = 0;
    memset(buf, '#', sizeof buf);
    CHECK_EQ_INT(ptel_json_render(buf, want - 1, &need, PTEL_JSON_TRACES_DATA, in, n, NULL),
                 PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(need, want);
    CHECK(buf[want - 1] == '#'); /* nothing written past cap */
    CHECK_EQ_INT(ptel_json_render(buf, want, &need, PTEL_JSON_TRACES_DATA, in, n, NULL), 0);
    CHECK_EQ_INT(need, want);
    CHECK_MEM(buf, seed_trace_json, want);
    CHECK(buf[want] == '#'); /* no terminator written */
    CHECK_EQ_INT(ptel_json_render(buf, sizeof buf, NULL, PTEL_JSON_TRACES_DATA, in, n, NULL), 0);

    /* Malformed input is reported as such, even with no buffer. */
    need = 7;
    CHECK_EQ_INT(ptel_json_render(NULL, 0, &need, PTEL_JSON_TRACES_DATA, in, n - 1, NULL),
                 PTEL_E_TRUNCATED);
    CHECK_EQ_INT(need, 0);

    /* Arguments. */
    d.status = 0;
    CHECK_EQ_INT(ptel_json_render(buf, sizeof buf, &need, 0, in, n, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(d.status, PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_json_render(buf, sizeof buf, &need, 7, in, n, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_json_render(buf, sizeof buf, &need, PTEL_JSON_SPAN, NULL, 1, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_json_render(buf, sizeof buf, &need, PTEL_JSON_SPAN, NULL, 0, NULL), 0);
    CHECK_EQ_INT(need, 2);
    CHECK_MEM(buf, "{}", 2);
    /* Every message type renders empty input as {}. */
    for (uint32_t t = PTEL_JSON_PLUGIN_TELEMETRY; t <= PTEL_JSON_METRIC; t++) {
        CHECK_EQ_INT(ptel_json_render(buf, 2, &need, t, in, 0, NULL), 0);
        CHECK_EQ_INT(need, 2);
    }
}

typedef struct count_alloc {
    size_t live; /* bytes currently allocated */
    int calls;
    int fail_at;   /* fail the n-th allocation (1-based), 0 = never */
    bool bad_free; /* a free whose size did not match */
} count_alloc;

static void *count_realloc(void *ud, void *p, size_t old, size_t n) {
    count_alloc *c = ud;
    if (n == 0) {
        if (p) {
            if (old > c->live)
                c->bad_free = true;
            else
                c->live -= old;
        }
        free(p);
        return NULL;
    }
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) return NULL;
    void *q = realloc(p, n);
    if (q) c->live += n - (p ? old : 0);
    return q;
}

static void test_render_alloc(void) {
    uint8_t in[200];
    size_t n = test_unhex(in, seed_trace_hex);
    count_alloc ca = {0, 0, 0, false};
    ptel_allocator a = {count_realloc, &ca};
    char *out = NULL;
    size_t len = 0;
    CHECK_EQ_INT(ptel_json_render_alloc(&out, &len, PTEL_JSON_TRACES_DATA, in, n, &a, NULL), 0);
    CHECK(out != NULL);
    CHECK_EQ_INT(len, strlen(seed_trace_json));
    CHECK_EQ_INT(ca.live, len + 1);
    if (out) {
        CHECK(out[len] == '\0');
        CHECK_STR(out, len, seed_trace_json);
    }
    ptel_json_free(out, len, &a);
    CHECK_EQ_INT(ca.live, 0);
    /* Success leaves the caller's diagnostics untouched. */
    ptel_diag untouched = {123, 4, 5, "mark"};
    CHECK_EQ_INT(ptel_json_render_alloc(&out, &len, PTEL_JSON_SPAN, in, 0, &a, &untouched), 0);
    CHECK(untouched.status == 123 && untouched.field == 4 && untouched.offset == 5);
    ptel_json_free(out, len, &a);
    CHECK(!ca.bad_free);
    ptel_json_free(NULL, 0, &a);

    /* Failures leave nothing allocated and NULL/0 outputs. */
    out = (char *)in;
    len = 9;
    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(
        ptel_json_render_alloc(&out, &len, PTEL_JSON_SPAN, (const uint8_t *)"\x28\x01", 2, &a, &d),
        PTEL_E_MALFORMED);
    CHECK(out == NULL);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(d.field, 5);
    CHECK_EQ_INT(ca.live, 0);
    ca.fail_at = ca.calls + 1;
    CHECK_EQ_INT(ptel_json_render_alloc(&out, &len, PTEL_JSON_TRACES_DATA, in, n, &a, NULL),
                 PTEL_E_NOMEM);
    CHECK(out == NULL);
    CHECK_EQ_INT(ca.live, 0);
    CHECK_EQ_INT(ptel_json_render_alloc(NULL, &len, PTEL_JSON_SPAN, in, 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_json_render_alloc(&out, NULL, PTEL_JSON_SPAN, in, 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    /* libc allocator. */
    CHECK_EQ_INT(ptel_json_render_alloc(&out, &len, PTEL_JSON_SPAN, in, 0, NULL, NULL), 0);
    CHECK_STR(out, len, "{}");
    ptel_json_free(out, len, NULL);
}

/* The validator the fuzz target relies on rejects what it must. */
static void test_validator(void) {
    static const char *good[] = {"{}",
                                 "[]",
                                 "0",
                                 "-0",
                                 "1.5e+21",
                                 "1E-7",
                                 "\"a\\u00e9\\n\"",
                                 "{\"a\":[1,true,false,null,{\"b\":\"\xc3\xa9\"}]}",
                                 "-1.25"};
    static const char *bad[] = {
        "",    "{",   "{\"a\"}", "{\"a\":1,}", "[1,]",      "01",       "1.",
        ".5",  "1e",  "+1",      "\"\x01\"",   "\"\\x\"",   "\"\xc3\"", "\"\xed\xa0\x80\"",
        "{} ", " {}", "NaN",     "[1]]",       "\"\\u12\"", "tru",      "{1:2}"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(fj_validate(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!fj_validate(bad[i], strlen(bad[i])));
    char deep[1200];
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    CHECK(!fj_validate(deep, 1200)); /* deeper than the validator's limit */
}

/* The fuzz target's own checks pass on the vectors above. */
static void test_fuzz_target_on_vectors(void) {
    uint8_t in[1024];
    in[0] = (uint8_t)(PTEL_JSON_TRACES_DATA - 1);
    size_t n = test_unhex(in + 1, seed_trace_hex);
    CHECK_EQ_INT(LLVMFuzzerTestOneInput(in, n + 1), 0);
    CHECK_EQ_INT(LLVMFuzzerTestOneInput(in, n), 0); /* truncated */
}

int main(void) {
    RUN(test_seed_trace_vector);
    RUN(test_plugin_context_vector);
    RUN(test_plugin_telemetry_vector);
    RUN(test_metrics_vector);
    RUN(test_any_value_members);
    RUN(test_bytes_base64_long);
    RUN(test_double_values);
    RUN(test_double_format);
    RUN(test_double_round_trip_sample);
    RUN(test_span_defaults_and_kinds);
    RUN(test_strings);
    RUN(test_histogram_repeated_scalars);
    RUN(test_exp_histogram_buckets);
    RUN(test_number_points_and_exemplars);
    RUN(test_resource_entity_refs);
    RUN(test_unknown_fields_skipped);
    RUN(test_truncated);
    RUN(test_malformed);
    RUN(test_invalid_utf8);
    RUN(test_depth);
    RUN(test_size_query);
    RUN(test_render_alloc);
    RUN(test_validator);
    RUN(test_fuzz_target_on_vectors);
    return test_summary();
}
