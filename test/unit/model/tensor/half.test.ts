/** @file Unit tests for float16/bfloat16 conversion (model/tensor/half.ts). */
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16BitsToF32, f32ToBf16, f32ToF16, f32ToF16Bits, f16ToF32 } from '../../../../model/tensor/half';

describe('float16', () => {
  it('converts known bit patterns both ways', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [0.5, 0x3800],
      [2 ** -24, 0x0001], [2 ** -14, 0x0400], [Infinity, 0x7c00], [-Infinity, 0xfc00], [0.1, 0x2e66],
    ];
    for (const [v, bits] of cases) {
      expect(f32ToF16Bits(v)).toBe(bits);
      expect(Object.is(f16BitsToF32(bits), v) || f16BitsToF32(bits) === Math.fround(v) || bits === 0x2e66).toBe(true);
    }
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it('rounds to nearest even, overflows to infinity and underflows to zero', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie: stays on even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: rounds up to even
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -26)).toBe(0);
    expect(f32ToF16Bits(3 * 2 ** -26)).toBe(0x0001); // 0.75 ulp of the smallest subnormal
  });

  it('round-trips every finite float16 value', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToF16(f16ToF32(bits));
    for (let i = 0; i < 65536; i++) {
      const exp = (i >> 10) & 0x1f;
      if (exp === 31 && (i & 0x3ff) !== 0) continue; // NaN payloads
      expect(back[i]).toBe(i);
    }
  });
});

describe('bfloat16', () => {
  it('converts exactly and rounds to nearest even', () => {
    const src = new Float32Array([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.0e38]);
    const bits = f32ToBf16(src);
    expect([...bits]).toEqual([0x3f80, 0xc020, 0x3f80, 0x3f82, 0x7f62]);
    expect([...bf16ToF32(bits)].slice(0, 2)).toEqual([1, -2.5]);
  });
});
