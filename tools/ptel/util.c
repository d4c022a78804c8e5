/* Shared helpers of the ptel tool: files, errors, arguments, JSON output. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_read(cli_bytes *out, const char *path) {
    out->data = NULL;
    out->len = 0;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return PTEL_E_IO;
    size_t cap = 0;
    for (;;) {
        if (out->len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *p = realloc(out->data, cap);
            if (!p) {
                cli_free(out);
                if (f != stdin) fclose(f);
                return PTEL_E_NOMEM;
            }
            out->data = p;
        }
        size_t n = fread(out->data + out->len, 1, cap - out->len, f);
        if (n == 0) break;
        out->len += n;
    }
    int err = ferror(f);
    if (f != stdin) fclose(f);
    return err ? PTEL_E_IO : 0;
}

int cli_write(const char *path, const void *data, size_t len) {
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (!f) return PTEL_E_IO;
    size_t n = len ? fwrite(data, 1, len, f) : 0;
    int rc = (n != len || fflush(f) != 0) ? PTEL_E_IO : 0;
    if (f != stdout && fclose(f) != 0) rc = PTEL_E_IO;
    return rc;
}

void cli_free(cli_bytes *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

void cli_error(const char *cmd, const char *what, int status, const ptel_diag *diag) {
    fprintf(stderr, "ptel %s: %s: %s", cmd, what, ptel_strerror(status));
    if (diag && diag->reason) {
        fprintf(stderr, ": %s (at byte %llu", diag->reason, (unsigned long long)diag->offset);
        if (diag->field) fprintf(stderr, ", field %u", (unsigned)diag->field);
        fprintf(stderr, ")");
    }
    fprintf(stderr, "\n");
}

const char *cli_arg_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "ptel %s: %s needs a value\n", argv[0], argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_load_context(ptel_context **out, const char *cmd, const char *path) {
    cli_bytes b;
    int rc = cli_read(&b, path);
    if (rc) {
        fprintf(stderr, "ptel %s: cannot read %s\n", cmd, path);
        return rc;
    }
    ptel_diag diag = {0};
    rc = ptel_context_decode(out, b.data, b.len, NULL, &diag);
    cli_free(&b);
    if (rc) cli_error(cmd, path, rc, &diag);
    return rc;
}

/* The invocation began when the host wrote the context (its time base) and
 * ends now: the first reading of this clock is the time base, later ones the
 * wall clock, so the host's window covers everything the plugin recorded. */
typedef struct cli_clock_state {
    uint64_t base;
    bool started;
} cli_clock_state;

static uint64_t cli_realtime(void *ud) {
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cli_since_base(void *ud) {
    cli_clock_state *c = ud;
    if (!c->started) {
        c->started = true;
        return c->base;
    }
    return cli_realtime(NULL);
}

int cli_validate(ptel_invocation **out, ptel_report *report, const char *cmd,
                 const ptel_context *ctx, const cli_bytes *payload) {
    ptel_context_fields f;
    ptel_context_get(ctx, &f);
    ptel_invocation_options o;
    ptel_invocation_options_init(&o);
    /* The context's span is the invocation span; its own parent is unknown
     * here, so the invocation span is the root of the context's trace. */
    memcpy(o.parent.trace_id, f.parent.trace_id, 16);
    o.parent.trace_flags = f.parent.trace_flags;
    memcpy(o.span_id, f.parent.span_id, 8);
    o.tracestate = f.tracestate;
    o.baggage = f.baggage;
    o.decision = f.decision;
    o.plugin_name = f.plugin_name;
    o.plugin_version = f.plugin_version;
    o.hook = f.hook;
    static cli_clock_state clock_state;
    clock_state.base = f.time_base_unix_nano ? f.time_base_unix_nano : cli_realtime(NULL);
    clock_state.started = false;
    o.start_unix_nano = clock_state.base;
    o.clock.monotonic_ns = cli_since_base;
    o.clock.realtime_ns = cli_realtime;
    o.clock.ud = &clock_state;
    o.features = f.features;
    o.context_is_remote = f.parent.is_remote;
    ptel_host_policy policy;
    ptel_host_policy_init(&policy);
    policy.limits = f.limits;
    o.policy = &policy;
    ptel_diag diag = {0};
    int rc = ptel_invocation_begin(out, &o, &diag);
    if (rc) {
        cli_error(cmd, "begin invocation", rc, &diag);
        return rc;
    }
    rc = ptel_invocation_end(*out, payload->data, payload->len, PTEL_OUTCOME_OK, NULL, 0, report,
                             &diag);
    if (rc && rc != PTEL_E_REJECTED) cli_error(cmd, "validate", rc, &diag);
    return rc;
}

int cli_print_json(FILE *f, const char *cmd, uint32_t type, const uint8_t *data, size_t len) {
    char *json = NULL;
    size_t json_len = 0;
    ptel_diag diag = {0};
    int rc = ptel_json_render_alloc(&json, &json_len, type, data, len, NULL, &diag);
    if (rc) {
        cli_error(cmd, "invalid payload", rc, &diag);
        return rc;
    }
    fwrite(json, 1, json_len, f);
    fputc('\n', f);
    ptel_json_free(json, json_len, NULL);
    return 0;
}
