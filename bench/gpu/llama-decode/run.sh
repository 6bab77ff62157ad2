#!/usr/bin/env bash
# NOT RUN in development (no GPU there). Runs on an NVIDIA machine without internet after prepare.sh (with .dev and
# .gl copied along): unpacks node + onnxruntime-node and the Vulkan loader, runs the PyTorch reference (HF generate, Vicuna-7B
# shape, fp16), then builds our int4 and float16 decoders from random weights and generates on the WebGPU EP.
# Reports go to $OUT (llama_gpu.txt, torch.json). Each 7B conversion is single-threaded JS (measured ~10 s per
# layer on a loaded 2-core dev box, so ~3-5 min; peak RSS 1.2 GiB int4 / 1.6 GiB float16, independent of depth),
# so one variant per call: first `bash bench/gpu/llama-decode/run.sh` (torch + int4), then
# `SKIP_TORCH=1 VARIANTS=float16 bash bench/gpu/llama-decode/run.sh` (reuses /tmp/llama/torch.json if the
# machine is still warm). Needs ~15 GB of disk in /tmp.
set -x
cd "$(dirname "$0")/../../.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/w /tmp/llama "${OUT:=/tmp/gpu-out}"
(cd /tmp/w && xz -dc "$OLDPWD/.dev/node.xz" > node && chmod +x node && xz -dc "$OLDPWD/.dev/ortmin.tar.xz" | tar xf -)
cp .dev/llama-gpu.mjs /tmp/w/   # beside /tmp/w/node_modules so `onnxruntime-node` resolves
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
[ "${SKIP_TORCH:-}" = 1 ] || PYTHONUNBUFFERED=1 timeout 150 python3 .dev/llama_torch_ref.py /tmp/llama "${TOKENS:-128}" 2>&1 | grep -v Warning
cp /tmp/llama/torch.json "$OUT/" 2>/dev/null
timeout "${NODE_TIMEOUT:-420}" /tmp/w/node --max-old-space-size=8192 /tmp/w/llama-gpu.mjs /tmp/llama --tokens "${TOKENS:-128}" \
  --variants "${VARIANTS:-int4}" --attention "${ATTENTION:-gqa}" 2>&1 \
  | grep -v '^\s*$' | tee "$OUT/llama_gpu.txt"
