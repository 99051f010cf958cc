#!/usr/bin/env bash
# The release, rehearsed without publishing (called by .ci/run after the build; runnable alone):
#  1. `changeset version` in a scratch copy of the repository (the real tree is never versioned here),
#     then `pnpm publish --dry-run` of every public package there: what `pnpm release` would publish,
#     with `workspace:` ranges turned into the new versions.
#  2. The packed tarballs, installed with plain npm (no pnpm, no workspace) into an empty project per
#     package, with the package's peer dependencies: each package is imported alone in its own Node
#     process, and its README's first runnable example runs there ("depend on individual packages").
# Needs the packages built (dist/) and network access to the npm registry (tfjs and other dependencies).
#   bash .ci/release-check.sh [package-folder-name...]   (default: every public package)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
pnpm() { npx --yes "pnpm@${pnpm_version}" "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- scratch copy: changeset version"
mkdir "$work/repo"
# the working tree without .git and installed modules (built dist/ folders come along)
tar -C "$root" --exclude=./.git --exclude='./node_modules' --exclude='*/node_modules' --exclude='*/.package-checks' -cf - . | tar -C "$work/repo" -xf -
(cd "$work/repo" && pnpm install --frozen-lockfile --prefer-offline --ignore-scripts >/dev/null)
(cd "$work/repo" && pnpm exec changeset version >/dev/null)

publishable=()
for dir in "$work"/repo/packages/*/; do
  [ -f "$dir/package.json" ] || continue
  [ "$(node -p "require('$dir/package.json').private === true")" = true ] && continue
  name=$(basename "$dir")
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  publishable+=("$name")
done
[ ${#publishable[@]} -gt 0 ] || { echo "release-check: no public package found" >&2; exit 1; }

echo "-- pnpm publish --dry-run: ${publishable[*]}"
mkdir "$work/tarballs"
for name in "${publishable[@]}"; do
  dir="$work/repo/packages/$name"
  version=$(node -p "require('$dir/package.json').version")
  (cd "$dir" && pnpm publish --dry-run --no-git-checks --access public >"$work/publish-$name.log" 2>&1) || {
    cat "$work/publish-$name.log" >&2
    echo "release-check: pnpm publish --dry-run failed for packages/$name" >&2
    exit 1
  }
  (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
  # no workspace: protocol may survive into the published manifest
  manifest=$(tar -xOzf "$work/tarballs/"*"-$name-$version.tgz" package/package.json)
  if grep -q '"workspace:' <<<"$manifest"; then
    echo "release-check: the packed package.json of $name still holds a workspace: range" >&2
    exit 1
  fi
  echo "   @tessera/$name@$version"
done

echo "-- plain npm: each package installed alone, imported, its README's first example run"
core=$(ls "$work"/tarballs/*-tensor-core-*.tgz 2>/dev/null || true)
[ -n "$core" ] || { (cd "$work/repo/packages/tensor-core" && pnpm pack --pack-destination "$work/tarballs" >/dev/null); core=$(ls "$work"/tarballs/*-tensor-core-*.tgz); }
# one function per package, all packages at once: each is mostly npm waiting on the registry
plain_npm() {
  local name=$1 tgz proj rc
  tgz=$(ls "$work"/tarballs/*-"$name"-*.tgz)
  proj="$work/npm-$name"
  mkdir "$proj"
  (cd "$proj" && npm init -y >/dev/null)
  # the package and tensor-core (its dependency, unpublished) from the tarballs; npm installs the
  # peer dependencies (@tensorflow/tfjs, @tensorflow/tfjs-core) itself
  (cd "$proj" && npm install --no-audit --no-fund --loglevel=error "$core" "$tgz" >"$work/npm-$name.log" 2>&1) || {
    cat "$work/npm-$name.log" >&2
    echo "release-check: npm install of @tessera/$name failed" >&2
    exit 1
  }
  (cd "$proj" && TESSERA_BACKEND=cpu node --input-type=module -e "
    const m = await import('@tessera/$name');
    if (Object.keys(m).length === 0) throw new Error('@tessera/$name exports nothing');
  ") || { echo "release-check: importing @tessera/$name alone failed" >&2; exit 1; }
  # the first ts/js block of the README that was packed, type-stripped like the README test does
  tar -xOzf "$tgz" package/README.md >"$proj/README.md"
  node --input-type=module -e "
    import { readFileSync, writeFileSync } from 'node:fs';
    import { transform } from 'esbuild';
    const md = readFileSync('$proj/README.md', 'utf8');
    const m = /^\`\`\`(ts|typescript|js|javascript|mjs)[^\n]*\n([\s\S]*?)^\`\`\`\s*$/m.exec(md);
    if (!m) { console.error('@tessera/$name: its README has no ts/js example'); process.exit(1); }
    const code = /^(ts|typescript)$/.test(m[1]) ? (await transform(m[2], { loader: 'ts', format: 'esm', target: 'node20' })).code : m[2];
    writeFileSync('$proj/example.mjs', code);
  "
  rc=0
  (cd "$proj" && TESSERA_BACKEND=cpu TESSERA_EXAMPLE_SIZE=small timeout 300 node example.mjs >"$work/example-$name.log" 2>&1) || rc=$?
  if [ $rc -ne 0 ]; then
    tail -20 "$work/example-$name.log" >&2
    [ $rc -eq 124 ] && echo "(timed out after 300 s)" >&2
    echo "release-check: the first README example of @tessera/$name failed in a plain npm project (exit $rc)" >&2
    exit 1
  fi
  echo "   @tessera/$name: installed, imported alone, README example ran"
}
pids=()
for name in "${publishable[@]}"; do
  plain_npm "$name" >"$work/plain-$name.out" 2>&1 &
  pids+=("$!")
done
failed=0
for i in "${!publishable[@]}"; do
  wait "${pids[$i]}" || failed=1
  cat "$work/plain-${publishable[$i]}.out"
done
[ $failed -eq 0 ] || exit 1
