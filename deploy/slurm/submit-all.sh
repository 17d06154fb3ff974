#!/bin/bash
# Submit deploy/slurm/nightly.sbatch once per node of a partition (default: gpu); extra arguments go to sbatch.
#   GPUBENCH_RESULTS=s3://bucket/gpubench deploy/slurm/submit-all.sh [--gres=gpu:8]
set -euo pipefail
: "${GPUBENCH_RESULTS:?set GPUBENCH_RESULTS to the shared store}"
here="$(cd "$(dirname "$0")" && pwd)"
for node in $(sinfo -h -N -p "${GPUBENCH_PARTITION:-gpu}" -o %N | sort -u); do
    sbatch --nodelist="$node" "$@" "$here/nightly.sbatch"
done
