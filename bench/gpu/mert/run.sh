#!/usr/bin/env bash
# Runs on the NVIDIA machine (see README.md): unpacks node + onnxruntime-node and the Vulkan loader, makes the
# PyTorch reference (random MERT-330M-shaped weights, 30 s audio, timings), then the ONNX graphs on the
# WebGPU EP (and the CPU EP once) against it. Reports go to $OUT (mert_gpu.txt, torch.json).
set -x
cd "$(dirname "$0")/../../.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/w /tmp/mert "${OUT:=/tmp/gpu-out}"
(cd /tmp/w && xz -dc "$OLDPWD/.dev/node.xz" > node && chmod +x node && xz -dc "$OLDPWD/.dev/ortmin.tar.xz" | tar xf -)
cp .dev/mert-gpu.mjs /tmp/w/   # beside /tmp/w/node_modules so `onnxruntime-node` resolves
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
PYTHONUNBUFFERED=1 timeout 240 python3 .dev/torch_ref.py /tmp/mert "${SECONDS_PER_WINDOW:-30}" 2>&1 | grep -v Warning
cp /tmp/mert/torch.json "$OUT/" 2>/dev/null
OUT="$OUT" timeout "${NODE_TIMEOUT:-300}" /tmp/w/node --max-old-space-size=16384 /tmp/w/mert-gpu.mjs /tmp/mert 2>&1 | grep -v '^\s*$'
