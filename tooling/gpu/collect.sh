#!/usr/bin/env bash
# Takes what tooling/gpu/device-run.sh brought back (the run tool's files_at folder) and puts each part where it
# belongs. From the repository root:  bash tooling/gpu/collect.sh FILES_AT
#   sparse-*.tar   → apps/demo/scripts/collect-sparse.sh (finished study, or the checkpoint in .sparse-run/)
#   lm.tar         → .lm-runs/<mix>/ (every finished mix: config, model (F16), results, log); then
#                    apps/demo/scripts/install-lm.sh commits what belongs in weights/lm/
#   tttlrm*.tar    → .tttlrm-run/tttlrm.tar (weights, state, log, bf16 Adam moments: device-run.sh tttlrm-resume)
#   fixtures.tar   → packages/linear-rnn/test/fixtures/{fla,mamba}
#   fsdp.tar       → .fsdp-run/ ; logs.tar → .device-logs/<time>/
#   timed.tar      → .device-bench/<time>/ (bench-*.json, peers-*.jsonl, adapter.json)
set -euo pipefail
from=$(readlink -f "${1:?usage: collect.sh FILES_AT}")
root=$(git rev-parse --show-toplevel)
cd "$root"
stamp=$(date +%H%M%S)
if [ -f "$from/sparse-b.tar" ]; then
  t=$(mktemp -d); tar -C "$t" -xf "$from/sparse-b.tar"; [ -f "$from/sparse-a.tar" ] && tar -C "$t" -xf "$from/sparse-a.tar"
  bash apps/demo/scripts/collect-sparse.sh "$t"; rm -rf "$t"
fi
if [ -f "$from/lm.tar" ]; then mkdir -p .lm-runs && tar -C .lm-runs -xf "$from/lm.tar" --strip-components=1 && echo "lm: $(ls .lm-runs | tr '\n' ' ')in .lm-runs/"; fi
if [ -f "$from/tttlrm.tar" ]; then
  t=$(mktemp -d); tar -C "$t" -xf "$from/tttlrm.tar"
  if [ -f "$from/tttlrm-opt.tar" ]; then tar -C "$t" -xf "$from/tttlrm-opt.tar"; [ -f "$t/optimizer.bf16.safetensors" ] && mv "$t/optimizer.bf16.safetensors" "$t/optimizer.safetensors"; fi
  mkdir -p .tttlrm-run && rm -rf .tttlrm-run/* && tar -C "$t" -cf .tttlrm-run/tttlrm.tar . && cp -r "$t"/. .tttlrm-run/ && rm -rf "$t"
  echo "tttlrm: checkpoint in .tttlrm-run/ (tttlrm.tar for the next device call)"
fi
if [ -f "$from/fixtures.tar" ]; then tar -xf "$from/fixtures.tar" --wildcards 'packages/*' && echo "fixtures: $(ls packages/linear-rnn/test/fixtures | tr '\n' ' ')"; fi
if [ -f "$from/fsdp.tar" ]; then mkdir -p .fsdp-run && tar -C .fsdp-run -xf "$from/fsdp.tar" && echo "fsdp: .fsdp-run/"; fi
if [ -f "$from/timed.tar" ]; then mkdir -p ".device-bench/$stamp" && tar -C ".device-bench/$stamp" -xf "$from/timed.tar" --strip-components=1 && echo "timed (benches, peers, adapter): .device-bench/$stamp/"; fi
[ -f "$from/tttlrm-eval.json" ] && cp "$from/tttlrm-eval.json" .tttlrm-run/eval.json
if [ -f "$from/logs.tar" ]; then mkdir -p ".device-logs/$stamp" && tar -C ".device-logs/$stamp" -xf "$from/logs.tar" --strip-components=1 && echo "logs: .device-logs/$stamp/"; fi
