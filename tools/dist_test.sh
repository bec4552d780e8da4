#!/usr/bin/env bash
# Distributed evaluation with torchrun (single node or multi-node).
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC_PER_NODE [test.py args...]
# Python: $PYTHON, else .venv/bin/python, else python3 (launch_common.sh).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC_PER_NODE [test.py args...]" >&2
    exit 2
fi
source "$(dirname "$0")/launch_common.sh"
dist_launch "$3" "$MPA_TOOLS/test.py" "$1" "$2" --launcher pytorch "${@:4}"
