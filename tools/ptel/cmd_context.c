/* ptel context --traceparent TP [--tracestate TS] [--baggage B] [--plugin NAME]
 *              [--plugin-version V] [--hook HOOK] [--decision D] -o FILE
 * Writes a PluginContext. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char ctx_usage[] =
    "usage: ptel context --traceparent TP [--tracestate TS] [--baggage B] [--plugin NAME]\n"
    "                    [--plugin-version V] [--hook HOOK] [--decision drop|record|sample]\n"
    "                    -o FILE\n";

static ptel_str ctx_str(const char *s) {
    ptel_str r = {s ? s : "", s ? strlen(s) : 0};
    return r;
}

int cli_cmd_context(int argc, char **argv) {
    const char *tp = NULL, *ts = NULL, *bg = NULL, *plugin = NULL, *version = NULL, *hook = NULL,
               *decision = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--traceparent")      ? &tp
                           : !strcmp(argv[i], "--tracestate")     ? &ts
                           : !strcmp(argv[i], "--baggage")        ? &bg
                           : !strcmp(argv[i], "--plugin")         ? &plugin
                           : !strcmp(argv[i], "--plugin-version") ? &version
                           : !strcmp(argv[i], "--hook")           ? &hook
                           : !strcmp(argv[i], "--decision")       ? &decision
                           : !strcmp(argv[i], "-o")               ? &out
                                                                  : NULL;
        if (!dst) {
            fprintf(stderr, "ptel context: unknown option %s\n%s", argv[i], ctx_usage);
            return 2;
        }
        if (!(*dst = cli_arg_value(argc, argv, &i))) return 2;
    }
    if (!tp || !out) {
        fputs(ctx_usage, stderr);
        return 2;
    }
    ptel_context *base = NULL;
    ptel_diag diag = {0};
    int rc = ptel_context_from_w3c(&base, tp, strlen(tp), ts, ts ? strlen(ts) : 0, bg,
                                   bg ? strlen(bg) : 0, NULL, &diag);
    if (rc) {
        cli_error("context", "invalid traceparent", rc, &diag);
        return 1;
    }
    ptel_context_fields f;
    ptel_context_get(base, &f);
    f.plugin_name = ctx_str(plugin);
    f.plugin_version = ctx_str(version);
    f.hook = ctx_str(hook);
    if (decision) {
        if (!strcmp(decision, "drop"))
            f.decision = PTEL_DECISION_DROP;
        else if (!strcmp(decision, "record"))
            f.decision = PTEL_DECISION_RECORD_ONLY;
        else if (!strcmp(decision, "sample"))
            f.decision = PTEL_DECISION_RECORD_AND_SAMPLE;
        else {
            fprintf(stderr, "ptel context: --decision is drop, record or sample\n");
            ptel_context_free(base);
            return 2;
        }
    }
    /* The host's wall clock now is the plugin's time base. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    f.time_base_unix_nano = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    ptel_context *ctx = NULL;
    rc = ptel_context_new(&ctx, &f, NULL, &diag);
    ptel_context_free(base);
    if (rc) {
        cli_error("context", "invalid context", rc, &diag);
        return 1;
    }
    size_t len = 0;
    ptel_context_encode(ctx, NULL, 0, &len);
    uint8_t *buf = malloc(len ? len : 1);
    rc = buf ? ptel_context_encode(ctx, buf, len, &len) : PTEL_E_NOMEM;
    if (!rc) rc = cli_write(out, buf, len);
    if (rc) cli_error("context", out, rc, NULL);
    free(buf);
    ptel_context_free(ctx);
    return rc ? 1 : 0;
}
