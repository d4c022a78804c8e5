/* ptel tree [--ascii] [--ids] TRACES_FILE [METRICS_FILE]: the trace tree and
 * metrics table of export requests (as `ptel export` and `ptel export
 * --metrics` write them). Either file may be "-" for stdin. */
#include "cli.h"

#include <string.h>

static int tree_usage(void) {
    fprintf(stderr, "usage: ptel tree [--ascii] [--ids] TRACES_FILE [METRICS_FILE]\n");
    return 2;
}

int cli_cmd_tree(int argc, char **argv) {
    uint32_t flags = 0;
    const char *paths[2] = {NULL, NULL};
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ascii"))
            flags |= PTEL_CONSOLE_ASCII;
        else if (!strcmp(argv[i], "--ids"))
            flags |= PTEL_CONSOLE_SPAN_IDS;
        else if (argv[i][0] == '-' && argv[i][1])
            return tree_usage();
        else if (npaths < 2)
            paths[npaths++] = argv[i];
        else
            return tree_usage();
    }
    if (npaths == 0) return tree_usage();

    cli_bytes in[2] = {{NULL, 0}, {NULL, 0}};
    for (int k = 0; k < npaths; k++) {
        if (cli_read(&in[k], paths[k])) {
            fprintf(stderr, "ptel tree: cannot read %s\n", paths[k]);
            cli_free(&in[0]);
            return 1;
        }
    }
    char *text = NULL;
    size_t len = 0;
    ptel_diag diag = {0, 0, 0, NULL};
    int rc = ptel_console_render_alloc(&text, &len, in[0].data, in[0].len, in[1].data, in[1].len,
                                       flags, NULL, &diag);
    if (rc) {
        /* Offsets past the traces point into the metrics file. */
        int bad = npaths > 1 && diag.offset >= in[0].len ? 1 : 0;
        if (bad) diag.offset -= in[0].len;
        cli_error("tree", paths[bad], rc, &diag);
    } else if (len == 0) {
        printf("(no spans or metrics)\n");
    } else {
        fwrite(text, 1, len, stdout);
    }
    ptel_console_free(text, len, NULL);
    cli_free(&in[0]);
    cli_free(&in[1]);
    return rc ? 1 : 0;
}
