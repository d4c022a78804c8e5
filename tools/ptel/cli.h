/* The ptel tool's commands, one file each. Each returns the process exit status. */
#ifndef PTEL_CLI_H
#define PTEL_CLI_H

#include <ptel/ptel.h>

int cli_cmd_traceparent(int argc, char **argv);

#endif
