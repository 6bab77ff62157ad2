/**
 * @file Pure vector helpers for embeddings: float32 little-endian BLOB coding, row means, L2 normalisation and
 * brute-force cosine top-k. Runs anywhere (main, CLI, workers, tests): no I/O.
 */

/** Encodes float32 values as a little-endian BLOB (the storage format of windows.embedding, STYLE B6). */
export function float32ToBlob(values: Float32Array): Buffer {
  if (IS_LITTLE_ENDIAN) return Buffer.from(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i] ?? 0, i * 4);
  return out;
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Decodes a little-endian float32 BLOB; throws when its length is not a multiple of 4 (a corrupt row). */
export function blobToFloat32(blob: Uint8Array, what = 'embedding'): Float32Array {
  if (blob.byteLength % 4 !== 0) {
    throw new Error(`The stored ${what} is corrupt: ${blob.byteLength} bytes is not a whole number of float32 values.`);
  }
  const n = blob.byteLength / 4;
  // On little-endian machines (all the app runs on) the bytes are the values: one aligned copy.
  if (IS_LITTLE_ENDIAN) return new Float32Array(blob.slice().buffer, 0, n);
  const out = new Float32Array(n);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Mean of `rows` row vectors of width `dim` stored row-major in `data`, accumulated in float64. */
export function meanRows(data: Float32Array, rows: number, dim: number): Float32Array {
  if (rows <= 0 || data.length !== rows * dim) {
    throw new Error(`Cannot average ${rows} rows of ${dim} values from ${data.length} values.`);
  }
  const acc = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const off = r * dim;
    for (let d = 0; d < dim; d++) acc[d] = acc[d]! + data[off + d]!;
  }
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) out[d] = (acc[d] ?? 0) / rows;
  return out;
}

/** Scales `v` to unit L2 norm in place and returns it; a zero vector stays zero (its cosine with anything is 0). */
export function normalizeInPlace(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) * (v[i] ?? 0);
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}

/** One hit of {@link topKCosine}: the row's index in the matrix and its cosine similarity. */
export interface VectorHit {
  readonly index: number;
  readonly score: number;
}

/**
 * The `k` rows of `matrix` (row-major, `dim` wide, rows already unit-normalised) most similar to the unit
 * vector `query`, best first; rows listed in `exclude` are skipped. Brute force: one dot product per row,
 * with a small sorted buffer for the best k.
 *
 * [Note: brute-force similarity] At 100,000 tracks × 1024 dims this is 10^8 multiply-adds, on the order of
 * 100 ms on one core (bench/captions.ts measures it): fast enough for a click, so there is no index to build,
 * keep in sync or get wrong.
 */
export function topKCosine(
  matrix: Float32Array,
  dim: number,
  query: Float32Array,
  k: number,
  exclude: ReadonlySet<number> = new Set(),
): VectorHit[] {
  if (query.length !== dim) throw new Error(`Query has ${query.length} values; the vectors have ${dim}.`);
  const rows = Math.floor(matrix.length / dim);
  const best: VectorHit[] = [];
  for (let r = 0; r < rows; r++) {
    if (exclude.has(r)) continue;
    const off = r * dim;
    // Four independent sums: about twice as fast in V8 as one dependent chain.
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let d = 0;
    for (; d + 3 < dim; d += 4) {
      s0 += matrix[off + d]! * query[d]!;
      s1 += matrix[off + d + 1]! * query[d + 1]!;
      s2 += matrix[off + d + 2]! * query[d + 2]!;
      s3 += matrix[off + d + 3]! * query[d + 3]!;
    }
    for (; d < dim; d++) s0 += matrix[off + d]! * query[d]!;
    const dot = s0 + s1 + s2 + s3;
    if (best.length < k) {
      best.push({ index: r, score: dot });
      best.sort((a, b) => b.score - a.score);
    } else if (k > 0 && dot > (best[k - 1]?.score ?? -Infinity)) {
      best[k - 1] = { index: r, score: dot };
      best.sort((a, b) => b.score - a.score);
    }
  }
  return best;
}
