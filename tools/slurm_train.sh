#!/usr/bin/env bash
# Training on a slurm cluster (one task per GPU, srun launcher).
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [PORT=29500] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [args...]
# Python: $PYTHON, else .venv/bin/python, else python3 (launch_common.sh).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]" >&2
    exit 2
fi
source "$(dirname "$0")/launch_common.sh"
slurm_launch "$1" "$2" "$MPA_TOOLS/train.py" "$3" --work-dir="$4" \
    --launcher="slurm" "${@:5}"
