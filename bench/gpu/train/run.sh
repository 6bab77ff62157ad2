#!/usr/bin/env bash
# Runs on the NVIDIA machine: unpacks node + onnxruntime-node and the Vulkan loader, runs the PyTorch reference
# step (writes the random Vicuna-7B-shaped checkpoint, ~13.5 GB at 32 layers), then the ONNX training graph per
# weight variant on the WebGPU EP. Reports go to $OUT (torch.json, train_gpu.txt).
# env: LAYERS (default 32; 8 gives a quick ~4 min run), TOKENS (200), VARIANTS, EP (webgpu).
set -x
cd "$(dirname "$0")/../../.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/w /tmp/train "${OUT:=/tmp/gpu-out}"
(cd /tmp/w && xz -dc "$OLDPWD/.dev/node.xz" > node && chmod +x node && xz -dc "$OLDPWD/.dev/ortmin.tar.xz" | tar xf -)
cp .dev/train-gpu.mjs /tmp/w/
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
PYTHONUNBUFFERED=1 timeout 300 python3 .dev/torch_train_ref.py /tmp/train 2>&1 | grep -v Warning
cp /tmp/train/torch.json "$OUT/" 2>/dev/null
OUT="$OUT" timeout "${NODE_TIMEOUT:-420}" /tmp/w/node --max-old-space-size=32768 /tmp/w/train-gpu.mjs /tmp/train 2>&1 | grep -v '^\s*$'
