/* Unity build of the ptel core: the one file every binding compiles.
 * Internal functions are static or ptel__-prefixed, so the modules can share
 * a translation unit without clashes. */
#include "status.c"
#include "mem.c"
#include "wire.c"
#include "text.c"
#include "clock_ids.c"
