#!/usr/bin/env bash
# The sparse-distillation run on the lent GPU, as one device command (carry [".gpu", ".sparse-run"]):
#   bash apps/demo/gpu/run-sparse.sh [MAX_SECONDS=540]
# Resumes from .sparse-run/sparse.tar when present (a checkpoint an earlier call brought back), runs every
# phase that is left within MAX_SECONDS, and returns at most 8 files under $OUT (the device's limit):
# complete → the committed files + logs.tar; incomplete → rest.tar + state.tar (bring both back as
# .sparse-run/sparse.tar with `scripts/collect-sparse.sh` and call again). With GPU_NODE set (tooling/gpu/device-run.sh,
# which has unpacked node and Dawn already), runs the bundle with that node instead of through .gpu/run.sh.
set -uo pipefail
max=${1:-540}
work=/tmp/sparse-run
mkdir -p "$work"
[ -f .sparse-run/sparse.tar ] && tar -C "$work" -xf .sparse-run/sparse.tar
if [ -n "${GPU_NODE:-}" ]; then train() { "$GPU_NODE" --max-old-space-size=16384 .gpu/entry.mjs train-sparse "$@"; }; else train() { bash .gpu/run.sh train-sparse "$@"; }; fi
train --out "$work" --phase all --max-seconds "$max" --log-every 50 2>&1 | grep -v 'artificially reduced'
cd "$work" || exit 1
if [ -f results.json ]; then
  cp teacher.safetensors student-b.safetensors student-c.safetensors samples.safetensors results.json config.json "$OUT"/
  tar -cf "$OUT/logs.tar" pretrain.json finetune.json train.log
else
  tar -cf "$OUT/state.tar" pretrain-state.safetensors 2>/dev/null
  tar -cf "$OUT/rest.tar" --exclude=pretrain-state.safetensors .
fi
ls -la "$OUT"
