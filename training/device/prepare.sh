#!/usr/bin/env bash
# Prepares .gpu/ (gitignored) for a GPU-machine run of training/device/run.sh: the GPU machine has PyTorch
# but no Node.js and no network, so the dataset generator travels as one bundled JavaScript file plus this
# machine's Node binary, xz-compressed. Carry it with the run: carry [".gpu"] (the tree + carried paths must
# stay under 64 MiB; .gpu is ~24 MiB).
#
#   bash training/device/prepare.sh            # NODE_BIN=/path/to/node to carry another binary
#
# Writes .gpu/generate.mjs (the bundle), .gpu/node.xz (+ node.sha256, node.version), and checks that the
# bundle runs. The compressed node is reused while the binary is unchanged (xz -9 takes ~80 s here).
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE_BIN=${NODE_BIN:-/usr/bin/node}
mkdir -p .gpu

# 1. the generator bundle (esbuild; the physics line table is inlined)
node --import tsx training/device/build.ts .gpu/generate.mjs

# 2. the Node binary. It must be self-contained apart from glibc/libstdc++ (the official builds need only
#    GLIBC 2.28 / GLIBCXX 3.4.21); a distribution's node linked against libnode.so would not run there.
[ -x "$NODE_BIN" ] || { echo "prepare: $NODE_BIN is not an executable" >&2; exit 1; }
if ldd "$NODE_BIN" 2>/dev/null | grep -Eq 'libnode|libuv|libssl|libicu'; then
  echo "prepare: $NODE_BIN links shared Node libraries; use an official (self-contained) node binary" >&2
  exit 1
fi
stamp="$("$NODE_BIN" --version) $(stat -c '%s %Y' "$NODE_BIN")"
if [ -f .gpu/node.xz ] && [ -f .gpu/node.version ] && [ "$(cat .gpu/node.version)" = "$stamp" ]; then
  echo "prepare: .gpu/node.xz is up to date ($stamp)"
else
  echo "prepare: compressing $NODE_BIN ($("$NODE_BIN" --version)) with xz -9 ..."
  rm -f .gpu/node.version
  xz -9 -T2 -c "$NODE_BIN" > .gpu/node.xz.tmp
  mv .gpu/node.xz.tmp .gpu/node.xz
  sha256sum "$NODE_BIN" | cut -d' ' -f1 > .gpu/node.sha256
  echo "$stamp" > .gpu/node.version  # last: a stamp means a complete node.xz
fi

# 3. smoke check: the bundle, run from a folder with nothing around it, writes a dataset
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp .gpu/generate.mjs "$tmp/"
(cd "$tmp" && "$NODE_BIN" generate.mjs --out ds --n 512 --seed 10 --block 64 >/dev/null)
[ -f "$tmp/ds/meta.json" ] || { echo "prepare: the bundle did not write a dataset" >&2; exit 1; }

gpu_bytes=$(du -cb .gpu/generate.mjs .gpu/node.xz .gpu/node.sha256 .gpu/node.version | tail -1 | cut -f1)
tree_bytes=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
untracked_bytes=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1)
total=$((gpu_bytes + tree_bytes + ${untracked_bytes:-0}))
awk -v g="$gpu_bytes" -v b="$(stat -c %s .gpu/generate.mjs)" -v t="$tree_bytes" -v u="${untracked_bytes:-0}" -v s="$total" 'BEGIN {
  m = 1048576
  printf "prepare: .gpu %.1f MiB (bundle %.0f KiB), tracked tree %.1f MiB, untracked %.1f MiB: %.1f MiB of the 64 MiB carry limit\n", g/m, b/1024, t/m, u/m, s/m }'
if [ "$total" -gt $((60 * 1048576)) ]; then
  echo "prepare: over 60 MiB: the device call would fail to carry it" >&2
  exit 1
fi
