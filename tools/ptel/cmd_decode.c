/* ptel decode FILE|-: a PluginTelemetry as canonical OTLP/JSON. */
#include "cli.h"

int cli_cmd_decode(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ptel decode FILE|-\n");
        return 2;
    }
    cli_bytes b;
    if (cli_read(&b, argv[1])) {
        fprintf(stderr, "ptel decode: cannot read %s\n", argv[1]);
        return 1;
    }
    int rc = cli_print_json(stdout, "decode", PTEL_JSON_PLUGIN_TELEMETRY, b.data, b.len);
    cli_free(&b);
    return rc ? 1 : 0;
}
