/* ptel — plugin telemetry protocol: the one header to include.
 *
 * The host hands trace context into a plugin (ptel_context), the plugin
 * records spans and metrics (ptel_recorder) and hands them back as OTLP
 * protobuf fragments, and the host validates and exports them (ptel_host).
 * See PROTOCOL.md for the normative specification. */
#ifndef PTEL_PTEL_H
#define PTEL_PTEL_H

#define PTEL_VERSION_MAJOR 0
#define PTEL_VERSION_MINOR 1
#define PTEL_VERSION_PATCH 0
#define PTEL_VERSION_STRING "0.1.0"

#include "common.h"
#include "w3c.h"
#include "context.h"
#include "recorder.h"
#include "host.h"
#include "json.h"
#include "console.h"
#include "export.h"

#endif
