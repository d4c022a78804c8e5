/* Shared helpers of the ptel tool: files, errors, arguments, JSON output. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

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
