#!/usr/bin/env bash
# Run the plugin, then write one byte more after its response frame.
"$@" && printf x
