/* The ptel tool's commands (one file each) and their shared helpers. Each
 * command returns the process exit status: 0 ok, 1 invalid input, 2 usage. */
#ifndef PTEL_CLI_H
#define PTEL_CLI_H

#include <ptel/ptel.h>

#include <stdio.h>

int cli_cmd_traceparent(int argc, char **argv);
int cli_cmd_context(int argc, char **argv);
int cli_cmd_decode(int argc, char **argv);
int cli_cmd_validate(int argc, char **argv);
int cli_cmd_export(int argc, char **argv);
int cli_cmd_demo_plugin(int argc, char **argv);
int cli_cmd_tree(int argc, char **argv);
int cli_cmd_send(int argc, char **argv);

/* A whole file (or stdin for "-") in memory; free with cli_free. */
typedef struct cli_bytes {
    uint8_t *data;
    size_t len;
} cli_bytes;

int cli_read(cli_bytes *out, const char *path);
int cli_write(const char *path, const void *data, size_t len);
void cli_free(cli_bytes *b);

/* Print "ptel CMD: what: status message (at byte N, field F)" on stderr. */
void cli_error(const char *cmd, const char *what, int status, const ptel_diag *diag);

/* The value after a "--flag": argv[*i + 1], advancing *i; NULL when missing. */
const char *cli_arg_value(int argc, char **argv, int *i);

/* Load and decode a PluginContext file. */
int cli_load_context(ptel_context **out, const char *cmd, const char *path);

/* Begin an invocation for the context in `ctx` (its span is the invocation
 * span), end it with `payload`, and leave the report. Used by validate and export. */
int cli_validate(ptel_invocation **out, ptel_report *report, const char *cmd,
                 const ptel_context *ctx, const cli_bytes *payload);

/* Print `data` as canonical OTLP/JSON of `type`, with a newline. */
int cli_print_json(FILE *f, const char *cmd, uint32_t type, const uint8_t *data, size_t len);

#endif
