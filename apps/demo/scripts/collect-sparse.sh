#!/usr/bin/env bash
# Takes what gpu/run-sparse.sh brought back (the run tool's files_at folder) and either installs the finished
# study into weights/sparse-dit/ and bench/results/, or stores the checkpoint as .sparse-run/sparse.tar for the
# next device call. From the repository root:  bash apps/demo/scripts/collect-sparse.sh /work/.device/N
set -euo pipefail
from=${1:?usage: collect-sparse.sh FILES_AT}
root=$(git rev-parse --show-toplevel)
if [ -f "$from/results.json" ]; then
  dest="$root/apps/demo/weights/sparse-dit"
  mkdir -p "$dest"
  cp "$from"/{teacher.safetensors,student-b.safetensors,student-c.safetensors,samples.safetensors,results.json,config.json} "$dest"/
  tar -C "$dest" -xf "$from/logs.tar"
  day=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$dest/results.json','utf8')).date.slice(0,10))")
  node "$root/apps/demo/scripts/sparse-bench-json.mjs" "$dest/results.json" > "$root/bench/results/$day-h100-sparse-distill.json"
  echo "installed into $dest and bench/results/$day-h100-sparse-distill.json"
else
  tmp=$(mktemp -d)
  tar -C "$tmp" -xf "$from/rest.tar"
  [ -f "$from/state.tar" ] && tar -C "$tmp" -xf "$from/state.tar"
  mkdir -p "$root/.sparse-run"
  tar -C "$tmp" -cf "$root/.sparse-run/sparse.tar" .
  rm -rf "$tmp"
  echo "checkpoint stored in .sparse-run/sparse.tar: call the device again (carry .gpu and .sparse-run)"
fi
