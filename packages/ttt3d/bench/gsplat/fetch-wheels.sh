#!/usr/bin/env bash
# Pure-Python wheels that gsplat's import chain or build script may need, for a device machine that cannot
# reach a registry (issue 15). The device image already lists all of them (KINDS.md, 2026-11-17: numpy,
# typing-extensions, rich, jaxtyping, wadler-lindig, ninja, packaging), so this is the fallback: the bench puts
# the unpacked wheels at the END of sys.path (GSPLAT_WHEEL_SITE), behind whatever the image has.
#   What `import gsplat` (90d7b4b3) runs at import time, outside the standard library and torch:
#     numpy, typing_extensions (module level); nvtx (optional, try/except); rich (gsplat/cuda/_backend.py, which
#     peers_gsplat.py replaces by loading the extension itself, so rich is not needed there either).
#   jaxtyping and wadler_lindig: in gsplat's install_requires, imported by no module the bench loads; fetched in
#     case a later gsplat revision imports them.
#   numpy is compiled (one wheel per Python version, ~16 MB): only with WITH_NUMPY=1, for cp312 (the image's
#     Python 3.12.3), and only if the image ever lacks it (this workplace's index had no cp312 numpy on 2026-12-07).
# Usage (repo root): bash packages/ttt3d/bench/gsplat/fetch-wheels.sh   -> .peers/gsplat-whl/*.whl
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
dest=$root/.peers/gsplat-whl
mkdir -p "$dest"
pure=(
  jaxtyping==0.3.11
  wadler_lindig==0.1.7
  typing_extensions==4.16.0
  rich==15.0.0
  markdown-it-py==4.2.0
  mdurl==0.1.2
  pygments==2.21.0
)
# versions: those this workplace's package index served on 2026-12-07 (override the index with PIP_INDEX_URL)
quick=(--retries 1 --timeout 10)
python3 -m pip download "${quick[@]}" --no-deps --only-binary=:all: --python-version 3.12 --implementation py --abi none \
  --platform any -d "$dest" "${pure[@]}"
if [[ ${WITH_NUMPY:-0} == 1 ]]; then
  python3 -m pip download "${quick[@]}" --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$dest" "numpy==${NUMPY_VERSION:-2.3.5}"
fi
ls -la "$dest"
du -sh "$dest"
