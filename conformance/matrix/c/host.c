/* The matrix host in C: begins the fixed invocation of
 * conformance/matrix/README.md, spawns the plugin command given after "--"
 * with the environment carrier, writes the PluginContext frame on its stdin,
 * reads the PluginTelemetry frame from its stdout, ends the invocation and
 * prints the report, the traces request and the metrics request.
 *
 * usage: host -- PLUGIN-COMMAND [ARGS...] */
#ifndef _GNU_SOURCE
#    define _GNU_SOURCE 1 /* execvpe */
#endif
#include <ptel/ptel.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { MX_MAX_PAYLOAD = 4 * 1024 * 1024 };

typedef struct mx_clock {
    uint64_t mono;
    uint8_t next_id;
} mx_clock;

static uint64_t mx_mono(void *ud) { return ((mx_clock *)ud)->mono; }

static uint64_t mx_real(void *ud) { return 1700000000000000000ull + ((mx_clock *)ud)->mono; }

static void mx_ids(void *ud, uint8_t *out, size_t n) {
    memset(out, 0, n);
    out[0] = 0xee;
    out[n - 1] = ++((mx_clock *)ud)->next_id;
}

static int mx_hex(uint8_t *out, const char *hex, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void mx_print_hex(const char *label, const uint8_t *data, size_t len) {
    printf("%s ", label);
    for (size_t i = 0; i < len; i++) printf("%02x", data[i]);
    printf("\n");
}

static int mx_is_carrier(const char *entry) {
    static const char *const names[] = {"TRACEPARENT=", "TRACESTATE=", "BAGGAGE=", "PTEL_CONTEXT="};
    for (size_t i = 0; i < 4; i++)
        if (!strncmp(entry, names[i], strlen(names[i]))) return 1;
    return 0;
}

static int mx_write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Run the plugin; returns 0 and the payload when it spoke the framing and
 * exited 0, else -1 (the invocation is then a crash). */
static int mx_run_plugin(char **cmd, const char *envbuf, size_t envlen, const uint8_t *frame,
                         size_t frame_len, uint8_t **payload, size_t *payload_len) {
    size_t nenv = 0, ncarrier = 0;
    for (char **e = environ; *e; e++) nenv++;
    for (size_t i = 0; i < envlen; i++) ncarrier += envbuf[i] == '\0';
    char **envp = calloc(nenv + ncarrier + 1, sizeof *envp);
    if (!envp) return -1;
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (!mx_is_carrier(*e)) envp[k++] = *e;
    for (size_t i = 0; i < envlen; i += strlen(envbuf + i) + 1) envp[k++] = (char *)envbuf + i;
    envp[k] = NULL;

    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execve(cmd[0], cmd, envp);
        execvpe(cmd[0], cmd, envp);
        _exit(127);
    }
    free(envp);
    close(in[0]);
    close(out[1]);
    (void)mx_write_all(in[1], frame, frame_len); /* a plugin that died early is a crash below */
    close(in[1]);

    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    int too_long = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= MX_MAX_PAYLOAD + 4) {
                too_long = 1;
                uint8_t sink[4096];
                while (read(out[0], sink, sizeof sink) > 0) {
                }
                break;
            }
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                too_long = 1;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(out[0], buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(out[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    size_t n = len >= 4 ? (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16 |
                              (size_t)buf[3] << 24
                        : 0;
    if (too_long || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || len < 4 ||
        n > MX_MAX_PAYLOAD || n != len - 4) {
        free(buf);
        return -1;
    }
    memmove(buf, buf + 4, n);
    *payload = buf;
    *payload_len = n;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "--") != 0) {
        fprintf(stderr, "usage: host -- PLUGIN-COMMAND [ARGS...]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    mx_clock clock = {0, 0};
    ptel_invocation_options o;
    ptel_invocation_options_init(&o);
    if (mx_hex(o.parent.trace_id, "0af7651916cd43dd8448eb211c80319c", 16) ||
        mx_hex(o.parent.span_id, "b7ad6b7169203331", 8) || mx_hex(o.span_id, "a1a2a3a4a5a6a7a8", 8))
        return 2;
    o.parent.trace_flags = PTEL_TRACE_FLAG_SAMPLED;
    o.parent.is_remote = true;
    o.tracestate.ptr = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    o.tracestate.len = strlen(o.tracestate.ptr);
    o.baggage.ptr = "tenant=acme,user.tier=gold";
    o.baggage.len = strlen(o.baggage.ptr);
    o.decision = PTEL_DECISION_RECORD_AND_SAMPLE;
    o.plugin_name.ptr = "pii_filter";
    o.plugin_name.len = 10;
    o.plugin_version.ptr = "1.0.0";
    o.plugin_version.len = 5;
    o.hook.ptr = "prompt_pre_fetch";
    o.hook.len = strlen(o.hook.ptr);
    o.start_unix_nano = 1700000000000000000ull;
    o.context_is_remote = true;
    o.clock.monotonic_ns = mx_mono;
    o.clock.realtime_ns = mx_real;
    o.clock.ud = &clock;
    o.ids.fill = mx_ids;
    o.ids.ud = &clock;

    ptel_invocation *inv = NULL;
    if (ptel_invocation_begin(&inv, &o, NULL) != 0) return 2;
    const ptel_context *ctx = ptel_invocation_context(inv);
    static char envbuf[200000];
    static uint8_t frame[70004];
    size_t envlen, ctxlen;
    if (ptel_context_to_env(ctx, envbuf, sizeof envbuf, &envlen) != 0 ||
        ptel_context_encode(ctx, frame + 4, sizeof frame - 4, &ctxlen) != 0)
        return 2;
    frame[0] = (uint8_t)ctxlen;
    frame[1] = (uint8_t)(ctxlen >> 8);
    frame[2] = (uint8_t)(ctxlen >> 16);
    frame[3] = (uint8_t)(ctxlen >> 24);

    uint8_t *payload = NULL;
    size_t payload_len = 0;
    int ok = mx_run_plugin(argv + 2, envbuf, envlen, frame, ctxlen + 4, &payload, &payload_len);
    clock.mono = 1000000;
    ptel_report report;
    ptel_invocation_end(inv, ok == 0 ? payload : NULL, ok == 0 ? payload_len : 0,
                        ok == 0 ? PTEL_OUTCOME_OK : PTEL_OUTCOME_CRASH, NULL, 0, &report, NULL);

    static char json[65536];
    size_t jlen;
    if (ptel_report_to_json(&report, json, sizeof json, &jlen) != 0) return 2;
    printf("report %s\n", json);
    ptel_attr res[2];
    memset(res, 0, sizeof res);
    res[0].key.ptr = "service.name";
    res[0].key.len = 12;
    res[0].value.type = PTEL_VALUE_STRING;
    res[0].value.str.ptr = "matrix-host";
    res[0].value.str.len = 11;
    res[1].key.ptr = "service.version";
    res[1].key.len = 15;
    res[1].value.type = PTEL_VALUE_STRING;
    res[1].value.str.ptr = "1.0.0";
    res[1].value.str.len = 5;
    ptel_export_options eo;
    ptel_export_options_init(&eo);
    eo.resource_attributes = res;
    eo.resource_attribute_count = 2;
    eo.host_scope_name.ptr = "matrix-host";
    eo.host_scope_name.len = 11;
    eo.host_scope_version.ptr = "1.0.0";
    eo.host_scope_version.len = 5;
    size_t tlen = 0, mlen = 0;
    static uint8_t traces[1 << 20], metrics[1 << 20];
    if (ptel_invocation_export_traces(inv, &eo, traces, sizeof traces, &tlen) != 0 ||
        ptel_invocation_export_metrics(inv, &eo, metrics, sizeof metrics, &mlen) != 0)
        return 2;
    mx_print_hex("traces", traces, tlen);
    mx_print_hex("metrics", metrics, mlen);
    ptel_invocation_free(inv);
    free(payload);
    return 0;
}
