/**
 * @file Writes a safetensors file one tensor at a time, each made only when it is written, for benches whose
 * checkpoints do not fit in memory twice (a 7B-shaped one). model/safetensors.ts's writeSafetensors takes
 * every tensor up front.
 */
import { open } from 'node:fs/promises';

/** A tensor to write: its bytes come from `fill(elementCount)` when its turn comes. */
export interface StreamedTensor {
  readonly name: string;
  readonly dtype: 'F16' | 'F32';
  readonly shape: readonly number[];
  readonly fill: (n: number) => Uint8Array;
}

/** Writes `tensors` in order (header padded to 8 bytes) and returns the file's size in bytes. */
export async function writeSafetensorsStreaming(path: string, tensors: readonly StreamedTensor[], metadata?: Record<string, string>): Promise<number> {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F16' ? 2 : 4);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const h = await open(path, 'w');
  try {
    await h.write(len);
    await h.write(Buffer.from(json));
    for (const t of tensors) await h.write(t.fill(t.shape.reduce((a, b) => a * b, 1)));
  } finally {
    await h.close();
  }
  return off + 8 + json.length;
}
