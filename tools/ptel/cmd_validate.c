/* ptel validate --context FILE FILE|-: the host's validation report as JSON. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_cmd_validate(int argc, char **argv) {
    const char *ctx_path = NULL, *payload_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--context")) {
            if (!(ctx_path = cli_arg_value(argc, argv, &i))) return 2;
        } else if (!payload_path) {
            payload_path = argv[i];
        } else {
            payload_path = NULL;
            break;
        }
    }
    if (!ctx_path || !payload_path) {
        fprintf(stderr, "usage: ptel validate --context FILE FILE|-\n");
        return 2;
    }
    ptel_context *ctx = NULL;
    if (cli_load_context(&ctx, "validate", ctx_path)) return 1;
    cli_bytes payload;
    if (cli_read(&payload, payload_path)) {
        fprintf(stderr, "ptel validate: cannot read %s\n", payload_path);
        ptel_context_free(ctx);
        return 1;
    }
    ptel_invocation *inv = NULL;
    ptel_report report;
    memset(&report, 0, sizeof report);
    int rc = cli_validate(&inv, &report, "validate", ctx, &payload);
    int exit_code = rc == 0 ? 0 : 1;
    if (!rc || rc == PTEL_E_REJECTED) {
        size_t len = 0;
        ptel_report_to_json(&report, NULL, 0, &len);
        char *json = malloc(len + 1);
        if (json && ptel_report_to_json(&report, json, len + 1, &len) == 0) printf("%s\n", json);
        free(json);
    }
    ptel_invocation_free(inv);
    cli_free(&payload);
    ptel_context_free(ctx);
    return exit_code;
}
