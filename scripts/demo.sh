#!/usr/bin/env bash
# demo.sh: placeholder until the demo (mock Laravel + gateway with simulated phones) lands.
echo "demo: not yet implemented" >&2
exit 1
