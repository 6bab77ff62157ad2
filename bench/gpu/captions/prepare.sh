#!/usr/bin/env bash
# Prepares what bench/gpu/captions/run.sh needs on a GPU machine without internet, in the repo root (no GPU needed):
#   .dev/captions-gpu.mjs   the benchmark bundled with the model code (onnxruntime-node stays external)
#   .dev/captions_torch_ref.py
#   .dev/node.xz, .dev/ortmin.tar.xz, .gl/*.deb   node, onnxruntime-node (linux-x64 only) and the Vulkan loader,
#                                                  made by bench/gpu/llama-decode/prepare.sh (shared with it)
# .dev/ and .gl/ are git-ignored locally; copy them to the GPU machine with the repository.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bash bench/gpu/llama-decode/prepare.sh >/dev/null
npx esbuild bench/gpu/captions/captions-gpu.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --outfile=.dev/captions-gpu.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
cp bench/gpu/captions/torch_ref.py .dev/captions_torch_ref.py
du -sh .dev .gl
