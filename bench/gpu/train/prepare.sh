#!/usr/bin/env bash
# Prepares what bench/gpu/train/run.sh needs on a GPU machine without internet, in the repo root (same layout
# as bench/gpu/mert/prepare.sh, whose node/ORT/Vulkan parts it reuses):
#   .dev/train-gpu.mjs       the benchmark bundled with the trainer and model code (onnxruntime-node external)
#   .dev/torch_train_ref.py  the PyTorch reference step
#   .dev/node.xz, .dev/ortmin.tar.xz, .gl/*.deb   node, onnxruntime-node (linux-x64) and the Vulkan loader
# Copy them to the GPU machine with the repository.
set -euo pipefail
cd "$(dirname "$0")/../../.."
grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo '/.dev/' >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo '/.gl/' >> .git/info/exclude
mkdir -p .dev .gl
npx esbuild bench/gpu/train/train-gpu.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --outfile=.dev/train-gpu.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
cp bench/gpu/train/torch_train_ref.py .dev/
[ -s .dev/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .dev/node.xz
if [ ! -s .dev/ortmin.tar.xz ]; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/node_modules"
  cp -r node_modules/onnxruntime-common node_modules/onnxruntime-node "$tmp/node_modules/"
  rm -rf "$tmp/node_modules/onnxruntime-node/bin/napi-v6/"{darwin,win32,linux/arm64}
  tar -C "$tmp" -cf - node_modules | xz -T2 -6 > .dev/ortmin.tar.xz
  rm -rf "$tmp"
fi
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1)
fi
du -sh .dev .gl
