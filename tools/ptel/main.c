/* ptel — command-line tool for debugging plugin telemetry payloads. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} cli_commands[] = {
    {"traceparent", cli_cmd_traceparent, "TRACEPARENT [TRACESTATE]"},
    {"context", cli_cmd_context,
     "--traceparent TP [--tracestate TS] [--baggage B] [--plugin NAME] [--hook HOOK] -o FILE"},
    {"decode", cli_cmd_decode, "FILE|-"},
    {"validate", cli_cmd_validate, "--context FILE FILE|-"},
    {"export", cli_cmd_export,
     "--context FILE [--resource k=v]... [--metrics] [--json] [-o FILE] FILE|-"},
    {"demo-plugin", cli_cmd_demo_plugin, "--context FILE [--input TEXT] [--deterministic] -o FILE"},
    {"tree", cli_cmd_tree, "[--ascii] [--ids] TRACES_FILE [METRICS_FILE]"},
    {"send", cli_cmd_send,
     "[--traceparent TP] [--count N] [--deadline-ms MS] [--stats] [--no-self-telemetry] [-o FILE]"},
};

static void cli_usage(FILE *f) {
    fprintf(f, "usage: ptel COMMAND [ARGS]\n\ncommands:\n");
    for (size_t k = 0; k < sizeof cli_commands / sizeof cli_commands[0]; k++)
        fprintf(f, "  ptel %s %s\n", cli_commands[k].name, cli_commands[k].usage);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ptel %s\n", ptel_version());
        return 0;
    }
    for (size_t k = 0; k < sizeof cli_commands / sizeof cli_commands[0]; k++)
        if (!strcmp(argv[1], cli_commands[k].name)) return cli_commands[k].run(argc - 1, argv + 1);
    fprintf(stderr, "ptel: unknown command '%s'\n", argv[1]);
    cli_usage(stderr);
    return 2;
}
