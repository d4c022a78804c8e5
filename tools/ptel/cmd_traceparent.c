/* ptel traceparent TRACEPARENT [TRACESTATE]: the parsed context as JSON. */
#include "cli.h"

#include <stdio.h>

int cli_cmd_traceparent(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ptel traceparent: not built yet\n");
    return 1;
}
