/* Compiled as pedantic C99: the public header must not need C11. */
#include <ptel/ptel.h>

int ptel_headertest_c(void);
int ptel_headertest_c(void) { return PTEL_OK; }
