/**
 * @file Weight preparation for the decoder graph: blocked transpose and int4 block quantization for
 * com.microsoft MatMulNBits (any process; pure functions).
 *
 * [Note: int4 quantization for MatMulNBits]
 * A Linear weight W [N, K] (HF layout: out × in) is split along K into blocks of 32. Each block is
 * quantized symmetrically with round-to-nearest the way ORT's MLAS quantizer does it: take the value m of
 * largest magnitude (with its sign), scale = m / -8, q = clamp(round(w / scale) + 8, 0, 15); the implicit
 * zero point is 8, so dequantization is (q - 8) · scale and the extreme value maps exactly to q = 0.
 * Packed layout: B uint8 [N, ceil(K/32), 16], two values per byte, the even index in the low nibble;
 * scales [N · ceil(K/32)]. K that is not a multiple of 32 is padded with zeros.
 */

/** Transposes a row-major [rows, cols] matrix to [cols, rows] (cache-blocked). */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(rows * cols);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[base + c]!;
      }
    }
  }
  return dst;
}

/** int4 MatMulNBits tensors for one weight. */
export interface QuantizedInt4 {
  /** uint8 [N, blocks, blockSize/2]. */
  packed: Uint8Array;
  /** float32 scales [N · blocks] (converted to the activation dtype by the caller). */
  scales: Float32Array;
  n: number;
  k: number;
  blocks: number;
  blockSize: number;
}

/** Quantizes W [n, k] (row-major, HF out × in) to 4 bits per [Note: int4 quantization for MatMulNBits]. */
export function quantizeInt4(w: Float32Array, n: number, k: number, blockSize = 32): QuantizedInt4 {
  if (w.length !== n * k) throw new Error(`quantizeInt4: ${w.length} values given for [${n}, ${k}]`);
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  for (let row = 0; row < n; row++) {
    const rowBase = row * k;
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(k, start + blockSize);
      let m = 0;
      for (let i = start; i < end; i++) {
        const v = w[rowBase + i]!;
        if (Math.abs(v) > Math.abs(m)) m = v;
      }
      const scale = Math.fround(m / -8);
      const inv = scale === 0 ? 0 : 1 / scale;
      scales[row * blocks + b] = scale;
      const out = (row * blocks + b) * blob;
      for (let j = 0; j < blockSize; j += 2) {
        const i0 = start + j;
        const v0 = i0 < end ? w[rowBase + i0]! : 0;
        const v1 = i0 + 1 < end ? w[rowBase + i0 + 1]! : 0;
        const q0 = Math.min(15, Math.max(0, Math.round(v0 * inv) + 8));
        const q1 = Math.min(15, Math.max(0, Math.round(v1 * inv) + 8));
        packed[out + j / 2] = q0 | (q1 << 4);
      }
    }
  }
  return { packed, scales, n, k, blocks, blockSize };
}

/** Dequantizes back to [n, k] float32 (tests and error estimates). */
export function dequantizeInt4(q: QuantizedInt4): Float32Array {
  const { n, k, blocks, blockSize, packed, scales } = q;
  const out = new Float32Array(n * k);
  const blob = blockSize / 2;
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < blocks; b++) {
      const s = scales[row * blocks + b]!;
      for (let j = 0; j < blockSize; j++) {
        const i = b * blockSize + j;
        if (i >= k) break;
        const byte = packed[(row * blocks + b) * blob + (j >> 1)]!;
        const qv = j & 1 ? byte >> 4 : byte & 15;
        out[row * k + i] = (qv - 8) * s;
      }
    }
  }
  return out;
}
