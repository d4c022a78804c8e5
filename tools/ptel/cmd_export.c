/* ptel export --context FILE [--resource k=v]... [--metrics] [--json] [-o FILE] FILE|-
 * The validated payload as an ExportTraceServiceRequest (or, with --metrics,
 * an ExportMetricsServiceRequest), in protobuf or OTLP/JSON. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char export_usage[] =
    "usage: ptel export --context FILE [--resource k=v]... [--metrics] [--json] [-o FILE] "
    "FILE|-\n";

int cli_cmd_export(int argc, char **argv) {
    const char *ctx_path = NULL, *payload_path = NULL, *out_path = "-";
    bool json = false, metrics = false;
    ptel_attr *resource = calloc((size_t)argc, sizeof *resource);
    size_t resource_count = 0;
    int exit_code = 2;
    if (!resource) return 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--context")) {
            if (!(ctx_path = cli_arg_value(argc, argv, &i))) goto done;
        } else if (!strcmp(argv[i], "-o")) {
            if (!(out_path = cli_arg_value(argc, argv, &i))) goto done;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--metrics")) {
            metrics = true;
        } else if (!strcmp(argv[i], "--resource")) {
            if (!(v = cli_arg_value(argc, argv, &i))) goto done;
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                fprintf(stderr, "ptel export: --resource takes key=value\n");
                goto done;
            }
            ptel_attr *a = &resource[resource_count++];
            a->key.ptr = v;
            a->key.len = (size_t)(eq - v);
            a->value.type = PTEL_VALUE_STRING;
            a->value.str.ptr = eq + 1;
            a->value.str.len = strlen(eq + 1);
        } else if (!payload_path) {
            payload_path = argv[i];
        } else {
            fputs(export_usage, stderr);
            goto done;
        }
    }
    if (!ctx_path || !payload_path) {
        fputs(export_usage, stderr);
        goto done;
    }
    exit_code = 1;
    ptel_context *ctx = NULL;
    if (cli_load_context(&ctx, "export", ctx_path)) goto done;
    cli_bytes payload = {0};
    ptel_invocation *inv = NULL;
    uint8_t *buf = NULL;
    if (cli_read(&payload, payload_path)) {
        fprintf(stderr, "ptel export: cannot read %s\n", payload_path);
        goto cleanup;
    }
    ptel_report report;
    int rc = cli_validate(&inv, &report, "export", ctx, &payload);
    if (rc && rc != PTEL_E_REJECTED) goto cleanup;
    if (rc == PTEL_E_REJECTED)
        fprintf(stderr, "ptel export: payload rejected: %s (at byte %llu)\n",
                report.first.reason ? report.first.reason : "invalid",
                (unsigned long long)report.first.offset);
    ptel_export_options eo;
    ptel_export_options_init(&eo);
    eo.resource_attributes = resource;
    eo.resource_attribute_count = resource_count;
    int (*export_fn)(const ptel_invocation *, const ptel_export_options *, uint8_t *, size_t,
                     size_t *) =
        metrics ? ptel_invocation_export_metrics : ptel_invocation_export_traces;
    size_t len = 0;
    rc = export_fn(inv, &eo, NULL, 0, &len);
    if (rc && rc != PTEL_E_BUFFER_TOO_SMALL) {
        cli_error("export", "assemble", rc, NULL);
        goto cleanup;
    }
    buf = malloc(len ? len : 1);
    if (!buf || export_fn(inv, &eo, buf, len, &len)) goto cleanup;
    if (json) {
        FILE *f = strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
        if (!f) goto cleanup;
        rc = cli_print_json(f, "export", metrics ? PTEL_JSON_METRICS_DATA : PTEL_JSON_TRACES_DATA,
                            buf, len);
        if (f != stdout) fclose(f);
        if (rc) goto cleanup;
    } else if (cli_write(out_path, buf, len)) {
        fprintf(stderr, "ptel export: cannot write %s\n", out_path);
        goto cleanup;
    }
    exit_code = 0;
cleanup:
    free(buf);
    ptel_invocation_free(inv);
    cli_free(&payload);
    ptel_context_free(ctx);
done:
    free(resource);
    return exit_code;
}
