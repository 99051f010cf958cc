#!/usr/bin/env bash
# Exports gsplat's source (the Python package and its CUDA sources, nothing else) into .peers/gsplat at the
# repo root, for packages/ttt3d/bench/peers_gsplat.py (issue 15). Run here, where the mirrors are; the device
# call then carries .peers/gsplat (about 7 MB). Idempotent: the folder is rebuilt from scratch.
#
# Version: gsplat main at 90d7b4b3 (2026-08, after v1.6.0), not a v1.x tag, because
#  - it builds against CUDA 13 / CCCL 3 (its CI builds wheels for torch 2.10 + cu130; v1.5.3 predates CUDA 13),
#  - its build.py can compile out what the bench does not use: BUILD_3DGS=1 alone keeps the 3DGS projection,
#    SH, tile intersection and rasterisation (the 2DGS, 3DGUT, Adam, relocation and loss kernels compile to
#    empty units), and NUM_CHANNELS=3,4 instantiates the rasteriser for 3 and 4 channels instead of the
#    default 23 channel counts (v1.5.3 instantiates 19 in each of its six rasterisation files, with no switch);
#  - its MAX_ALPHA is 0.99, as ours (v1.x clamps at 0.999).
# glm is a git submodule of gsplat; the mirror holds no submodules, so it comes from the glm mirror at the
# commit gsplat pins (only its glm/ header folder).
#   GSPLAT_REV=<commit or tag> GSPLAT_MIRROR=... GLM_MIRROR=... bash packages/ttt3d/bench/gsplat/prepare.sh
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
GSPLAT_MIRROR=${GSPLAT_MIRROR:-/work/.mirror/nerfstudio-project+gsplat/repo}
GLM_MIRROR=${GLM_MIRROR:-/work/.mirror/g-truc+glm/repo}
GSPLAT_REV=${GSPLAT_REV:-90d7b4b349e379ccf9ee6a8cef76aa40f48bb32e}
dest=$root/.peers/gsplat
[[ -d $GSPLAT_MIRROR ]] || { echo "no gsplat mirror at $GSPLAT_MIRROR (fetch github:nerfstudio-project/gsplat)" >&2; exit 1; }
[[ -d $GLM_MIRROR ]] || { echo "no glm mirror at $GLM_MIRROR (fetch github:g-truc/glm)" >&2; exit 1; }
rev=$(git -C "$GSPLAT_MIRROR" rev-parse --verify "$GSPLAT_REV^{commit}")
# the glm commit gsplat pins: the gitlink in gsplat's tree
glm_rev=$(git -C "$GSPLAT_MIRROR" ls-tree "$rev" gsplat/cuda/csrc/third_party/glm | awk '$2 == "commit" { print $3 }')
[[ -n $glm_rev ]] || { echo "gsplat $rev has no glm submodule at gsplat/cuda/csrc/third_party/glm" >&2; exit 1; }
git -C "$GLM_MIRROR" cat-file -e "$glm_rev^{commit}" || { echo "glm mirror lacks commit $glm_rev" >&2; exit 1; }

rm -rf "$dest" "$dest.part"
mkdir -p "$dest.part"
# the package only (docs/, examples/, tests/, assets/ and profiling/ stay behind; docs/ holds blobs the mirror lacks)
git -C "$GSPLAT_MIRROR" archive "$rev" gsplat LICENSE | tar -x -C "$dest.part"
# subpackages that `import gsplat` does not load and that ship their own CUDA extensions (sensors, the
# experimental renderer, geometry, scene) or training extras (contrib): not needed for gsplat.rasterization
for sub in sensors experimental geometry scene contrib; do rm -rf "$dest.part/gsplat/$sub"; done
mkdir -p "$dest.part/gsplat/cuda/csrc/third_party/glm"
git -C "$GLM_MIRROR" archive "$glm_rev" glm copying.txt | tar -x -C "$dest.part/gsplat/cuda/csrc/third_party/glm"
# glm's own CMake and test files inside glm/ are not headers the build reads
find "$dest.part/gsplat/cuda/csrc/third_party/glm/glm" -name CMakeLists.txt -delete
printf 'gsplat %s\nglm %s\n' "$rev" "$glm_rev" >"$dest.part/REVISION"
mv "$dest.part" "$dest"
echo "gsplat $rev (glm $glm_rev) -> $dest: $(du -sh "$dest" | cut -f1), $(find "$dest" -type f | wc -l) files"
