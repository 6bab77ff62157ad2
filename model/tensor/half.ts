/**
 * @file Float16 / bfloat16 <-> float32 conversion (any process; pure functions over typed arrays).
 *
 * [Note: Half-precision conversion]
 * Checkpoints ship float16 (Vicuna) or bfloat16 weights while the CPU graphs run in float32, and the
 * float16 graphs need float32 values rounded back to IEEE binary16. float16 -> float32 goes through a
 * 65,536-entry lookup table (exact, and fast enough to convert a 7B checkpoint tensor by tensor);
 * float32 -> float16 rounds to nearest, ties to even, with subnormals, infinities and NaN handled the way
 * numpy's `astype(np.float16)` does. bfloat16 is the top half of a float32, so both directions are shifts
 * (float32 -> bfloat16 rounds to nearest even as well).
 */

let f16Table: Float32Array | undefined;

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0) v = frac * 2 ** -24;
    else if (exp === 31) v = frac === 0 ? Infinity : NaN;
    else v = (1 + frac / 1024) * 2 ** (exp - 15);
    table[h] = sign * v;
  }
  return table;
}

/** Converts one IEEE binary16 bit pattern to a number. */
export function f16BitsToF32(bits: number): number {
  f16Table ??= buildF16Table();
  return f16Table[bits & 0xffff]!;
}

/** Converts float16 bit patterns to float32 values. */
export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  f16Table ??= buildF16Table();
  const table = f16Table;
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]!]!;
  return dst;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Converts one number to its IEEE binary16 bit pattern (round to nearest, ties to even). */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  return f32BitsToF16Bits(u32Scratch[0]!);
}

function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: shift the mantissa (with its implicit 1) right, rounding to nearest even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out++;
    return sign | out;
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out++; // may carry into the exponent: correct
  return sign | out;
}

/** Converts float32 values to float16 bit patterns (round to nearest, ties to even). */
export function f32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
  return dst;
}

/** Converts bfloat16 bit patterns to float32 values (exact). */
export function bf16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

/** Converts float32 values to bfloat16 bit patterns (round to nearest, ties to even; NaN stays NaN). */
export function f32ToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
      dst[i] = (x >>> 16) | 0x40;
      continue;
    }
    dst[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return dst;
}

/** Rounds float32 values through float16 and back (what a float16 weight holds). */
export function roundToF16(src: Float32Array): Float32Array {
  return f16ToF32(f32ToF16(src));
}
