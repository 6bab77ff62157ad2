/**
 * @file Symmetric round-to-nearest int4 block quantization in MatMulNBits layout. Plain TS.
 *
 * [Note: Int4 layout] com.microsoft.MatMulNBits computes Y = A · dequant(B)ᵀ with B [N, K] stored as uint8
 * [N, ceil(K/32), 16]: two 4-bit values per byte, even k in the low nibble, zero point 8 (the default when
 * no zero_points input is given), one float scale per block of 32 ([N · ceil(K/32)]). Symmetric RTN with
 * the full signed range [−8, 7]: scale = −v / 8 where v is the block's value of largest magnitude (it maps to
 * −8 exactly), as ORT's own symmetric quantizer does. K is zero-padded to a whole block.
 */

/** One quantized matrix. */
export interface Int4Matrix {
  /** N (output features). */
  readonly rows: number;
  /** K (input features, before padding). */
  readonly cols: number;
  readonly blockSize: number;
  /** [rows, blocksPerRow, blockSize/2] */
  readonly packed: Uint8Array;
  /** [rows · blocksPerRow] */
  readonly scales: Float32Array;
}

/** Quantizes W [rows, cols] (row-major) to int4 blocks along cols. */
export function quantizeInt4(w: Float32Array, rows: number, cols: number, blockSize = 32): Int4Matrix {
  if (w.length !== rows * cols) throw new Error(`quantizeInt4: ${w.length} values for a ${rows}×${cols} matrix`);
  const kb = Math.ceil(cols / blockSize);
  const packed = new Uint8Array(rows * kb * (blockSize / 2));
  const scales = new Float32Array(rows * kb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < kb; b++) {
      // Signed value of largest magnitude in the block.
      let vmax = 0;
      for (let i = 0; i < blockSize; i++) {
        const k = b * blockSize + i;
        if (k >= cols) break;
        const v = w[r * cols + k] ?? 0;
        if (Math.abs(v) > Math.abs(vmax)) vmax = v;
      }
      const scale = vmax / -8;
      scales[r * kb + b] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      for (let i = 0; i < blockSize; i += 2) {
        const k = b * blockSize + i;
        const q = (kk: number): number => {
          if (kk >= cols) return 8;
          return Math.min(15, Math.max(0, Math.round((w[r * cols + kk] ?? 0) * inv) + 8));
        };
        packed[(r * kb + b) * (blockSize / 2) + i / 2] = q(k) | (q(k + 1) << 4);
      }
    }
  }
  return { rows, cols, blockSize, packed, scales };
}

/** Dequantizes back to float32 [rows, cols] (tests, and the reference for graph variants). */
export function dequantizeInt4(m: Int4Matrix): Float32Array {
  const { rows, cols, blockSize, packed, scales } = m;
  const kb = Math.ceil(cols / blockSize);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < cols; k++) {
      const b = Math.floor(k / blockSize);
      const byte = packed[(r * kb + b) * (blockSize / 2) + ((k % blockSize) >> 1)] ?? 0;
      const q = k % 2 === 0 ? byte & 15 : byte >> 4;
      out[r * cols + k] = (q - 8) * (scales[r * kb + b] ?? 0);
    }
  }
  return out;
}

/** Transposes a row-major [rows, cols] matrix. */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c] ?? 0;
  return out;
}
