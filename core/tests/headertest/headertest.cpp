// Compiled as pedantic C++11: the public header must work from C++.
#include <ptel/ptel.h>

int ptel_headertest_cxx();
int ptel_headertest_cxx() { return PTEL_OK + PTEL_PROTOCOL_VERSION; }
