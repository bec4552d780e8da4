#!/usr/bin/env bash
# Evaluation on a slurm cluster.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [PORT=29500] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [args...]
# Python: $PYTHON, else .venv/bin/python, else python3 (launch_common.sh).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]" >&2
    exit 2
fi
source "$(dirname "$0")/launch_common.sh"
slurm_launch "$1" "$2" "$MPA_TOOLS/test.py" "$3" "$4" \
    --launcher="slurm" "${@:5}"
