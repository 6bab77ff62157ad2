#!/usr/bin/env bash
# NOT RUN in development (no GPU there). Runs on an NVIDIA machine without internet after prepare.sh (with .dev and
# .gl copied along): unpacks node + onnxruntime-node and the Vulkan loader, runs the PyTorch reference caption pipeline, then our
# pipeline on full-size random-weight packs. Reports go to $OUT (captions_gpu.txt, torch.json).
# Each 7B pack build is single-threaded JS (~2-3 min): VARIANTS=int4 then VARIANTS=float16 (SKIP_TORCH=1 the second
# time) fits each call under 10 minutes.
set -x
cd "$(dirname "$0")/../../.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/w /tmp/cap "${OUT:=/tmp/gpu-out}"
[ -x /tmp/w/node ] || (cd /tmp/w && xz -dc "$OLDPWD/.dev/node.xz" > node && chmod +x node && xz -dc "$OLDPWD/.dev/ortmin.tar.xz" | tar xf -)
cp .dev/captions-gpu.mjs /tmp/w/
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
[ "${SKIP_TORCH:-}" = 1 ] || PYTHONUNBUFFERED=1 timeout 200 python3 .dev/captions_torch_ref.py /tmp/cap "${TOKENS:-64}" "${CLIPS:-8}" 2>&1 | grep -v Warning
cp /tmp/cap/torch.json "$OUT/" 2>/dev/null
timeout "${NODE_TIMEOUT:-380}" /tmp/w/node --max-old-space-size=12288 /tmp/w/captions-gpu.mjs /tmp/cap --tokens "${TOKENS:-64}" \
  --clips "${CLIPS:-8}" --variants "${VARIANTS:-int4}" --ep "${EP:-webgpu}" --batches "${BATCHES:-1,8}" 2>&1 \
  | grep -v '^\s*$' | tee -a "$OUT/captions_gpu.txt"
