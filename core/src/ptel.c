/* Unity build of the ptel core: the one file every binding compiles.
 * Internal functions are static or ptel__-prefixed, so the modules can share
 * a translation unit without clashes. core/tests/unity_complete.sh checks
 * that every module is listed. */
#include "status.c"
#include "mem.c"
#include "wire.c"
#include "text.c"
#include "clock_ids.c"
#include "base64.c"
#include "context.c"
#include "host_attrs.c"
#include "host_metrics.c"
#include "host_report.c"
#include "host_validate.c"
#include "json_double.c"
#include "json_render.c"
#include "recorder.c"
#include "recorder_attrs.c"
#include "recorder_metrics.c"
#include "w3c_baggage.c"
#include "w3c_traceparent.c"
#include "w3c_tracestate.c"
