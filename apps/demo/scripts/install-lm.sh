#!/usr/bin/env bash
# Installs finished LM runs (tooling/gpu/collect.sh puts them in .lm-runs/<mix>/) into weights/lm/<mix>/: config.json,
# results.json and train-log.json for every mix; model.safetensors (F16, rounded from the fp32 weights the held-out
# figures were measured on) for the mixes named, default the demo's default mix only — every committed MB also travels
# to the lent GPU with each device call (64 MiB in all).   bash apps/demo/scripts/install-lm.sh [MIX...]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
keep=("${@:-hybrid}")
for run in "$root"/.lm-runs/*/; do
  mix=$(basename "$run")
  [ -f "$run/results.json" ] || { echo "$mix: no results.json (unfinished), skipped"; continue; }
  dest="$root/apps/demo/weights/lm/$mix"
  mkdir -p "$dest"
  cp "$run"/{config.json,results.json,train-log.json} "$dest"/
  rm -f "$dest/model.safetensors"
  for k in "${keep[@]}"; do [ "$k" = "$mix" ] && cp "$run/model.f16.safetensors" "$dest/model.safetensors"; done
  node -e "const r=require('$dest/results.json');console.log('$mix', r.steps+' steps', r.heldOut.bitsPerByte.toFixed(3)+' bits/byte', require('fs').existsSync('$dest/model.safetensors')?'(weights)':'')"
done
