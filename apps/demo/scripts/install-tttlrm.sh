#!/usr/bin/env bash
# Installs the tttLRM run that tooling/gpu/collect.sh put in .tttlrm-run/ into weights/tttlrm/: config.json,
# model.safetensors rounded to F16 (the eval figures were measured on the fp32 weights), train-log.jsonl, state.json
# (steps, seconds, data seed) and eval.json.   bash apps/demo/scripts/install-tttlrm.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
run="$root/.tttlrm-run"
dest="$root/apps/demo/weights/tttlrm"
[ -f "$run/weights/model.safetensors" ] || { echo "no finished run in $run" >&2; exit 1; }
mkdir -p "$dest"
cp "$run/weights/config.json" "$dest/config.json"
cp "$run/log.jsonl" "$dest/train-log.jsonl"
cp "$run/state.json" "$dest/state.json"
[ -f "$run/eval.json" ] && cp "$run/eval.json" "$dest/eval.json"
cd "$root/apps/demo"
node --input-type=module -e "
import { loadSafetensors, saveSafetensors, tf } from '@tessera/tensor-core';
const t = await loadSafetensors('$run/weights/model.safetensors');
await saveSafetensors('$dest/model.safetensors', t, { dtypes: Object.fromEntries(Object.keys(t).map((k) => [k, 'F16'])) });
tf.dispose(Object.values(t));
console.log('tttlrm: ' + Object.keys(t).length + ' tensors (F16) in weights/tttlrm/');
"
