#!/usr/bin/env bash
# Shared by tools/dist_{train,test}.sh and tools/slurm_{train,test}.sh
# (sourced, not run). Defines:
#   MPA_TOOLS    this folder (absolute)
#   PYTHON       $PYTHON if set, else the repository's .venv/bin/python
#                (created by `make install`) if present, else python3
#   dist_launch NPROC SCRIPT ARGS...            torchrun on this node
#   slurm_launch PARTITION JOB_NAME SCRIPT ARGS...   srun, one task per GPU
MPA_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$MPA_TOOLS/../.venv/bin/python" ]; then
        PYTHON="$MPA_TOOLS/../.venv/bin/python"
    else
        PYTHON=python3
    fi
fi
export PYTHONPATH="$MPA_TOOLS/..${PYTHONPATH:+:$PYTHONPATH}"

# Multi-node: run on every node with NNODES, NODE_RANK, MASTER_ADDR, PORT.
dist_launch() {
    local nproc=$1
    shift
    exec "$PYTHON" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$nproc" \
        --master_port="${PORT:-29500}" \
        "$@"
}

# [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [PORT=...]
slurm_launch() {
    local partition=$1 job_name=$2
    shift 2
    local gpus=${GPUS:-8}
    local gpus_per_node=${GPUS_PER_NODE:-8}
    # Fewer tasks than GPUS_PER_NODE: one partial node.
    if [ "$gpus" -lt "$gpus_per_node" ]; then
        gpus_per_node=$gpus
    fi
    # Rendezvous port on the first node (mmengine reads MASTER_PORT;
    # default 29500). Set PORT to run several jobs on one node.
    if [ -n "${PORT:-}" ]; then
        export MASTER_PORT=$PORT
    fi
    # shellcheck disable=SC2086
    srun -p "$partition" \
        --job-name="$job_name" \
        --gres=gpu:"$gpus_per_node" \
        --ntasks="$gpus" \
        --ntasks-per-node="$gpus_per_node" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} \
        "$PYTHON" -u "$@"
}
