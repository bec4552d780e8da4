#!/usr/bin/env bash
# Distributed training with torchrun (single node or multi-node).
#   bash tools/dist_train.sh CONFIG NPROC_PER_NODE [train.py args...]
# Multi-node: run on every node with NNODES, NODE_RANK, MASTER_ADDR, PORT.
# Python: $PYTHON, else .venv/bin/python, else python3 (launch_common.sh).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC_PER_NODE [train.py args...]" >&2
    exit 2
fi
source "$(dirname "$0")/launch_common.sh"
dist_launch "$2" "$MPA_TOOLS/train.py" "$1" --launcher pytorch "${@:3}"
