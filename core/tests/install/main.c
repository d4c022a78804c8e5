/* Uses the installed library: parse a traceparent and print the version. */
#include <ptel/ptel.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    ptel_traceparent parsed;
    if (ptel_traceparent_parse(&parsed, tp, strlen(tp), NULL) != 0) return 1;
    printf("ptel %s ok\n", ptel_version());
    return parsed.trace_flags == 1 ? 0 : 1;
}
