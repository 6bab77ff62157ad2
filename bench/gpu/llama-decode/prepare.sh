#!/usr/bin/env bash
# Prepares what bench/gpu/llama-decode/run.sh needs on a GPU machine without internet, in the repo root:
#   .dev/llama-gpu.mjs  the benchmark bundled with the model code and onnx-proto (onnxruntime-node stays external)
#   .dev/node.xz        this machine's node binary, xz-compressed (~24 MB)
#   .dev/ortmin.tar.xz  onnxruntime-node (linux-x64 binaries only) + onnxruntime-common (~13 MB)
#   .gl/*.deb           Debian's Vulkan loader, for the WebGPU EP (Vulkan on Linux)
# .dev/ and .gl/ are git-ignored locally (.git/info/exclude); copy them to the GPU machine with the repository.
set -euo pipefail
cd "$(dirname "$0")/../../.."
grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo '/.dev/' >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo '/.gl/' >> .git/info/exclude
mkdir -p .dev .gl
npx esbuild bench/gpu/llama-decode/llama-gpu.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --outfile=.dev/llama-gpu.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
cp bench/gpu/llama-decode/torch_ref.py .dev/llama_torch_ref.py
[ -s .dev/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .dev/node.xz
if [ ! -s .dev/ortmin.tar.xz ]; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/node_modules"
  cp -r node_modules/onnxruntime-common "$tmp/node_modules/"
  rsync -a --exclude 'bin/napi-v6/darwin' --exclude 'bin/napi-v6/win32' --exclude 'bin/napi-v6/linux/arm64' \
    node_modules/onnxruntime-node "$tmp/node_modules/" 2>/dev/null || {
    cp -r node_modules/onnxruntime-node "$tmp/node_modules/"
    rm -rf "$tmp/node_modules/onnxruntime-node/bin/napi-v6/"{darwin,win32,linux/arm64}
  }
  tar -C "$tmp" -cf - node_modules | xz -T2 -6 > .dev/ortmin.tar.xz
  rm -rf "$tmp"
fi
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1)
fi
du -sh .dev .gl
