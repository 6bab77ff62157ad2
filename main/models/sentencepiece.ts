/**
 * @file Minimal reading and writing of SentencePiece `tokenizer.model` files (a protobuf ModelProto), enough to
 * check a tokenizer before it goes into a pack (bos `<s>` = 1, eos `</s>` = 2, piece count) and to make tiny
 * test tokenizers. Plain Node. Tokenizing itself is model/'s business.
 *
 * ModelProto field 1 is `repeated SentencePiece pieces`; a SentencePiece has `piece` (1, string), `score`
 * (2, float) and `type` (3, enum: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte). Other fields
 * (trainer/normalizer specs) are skipped.
 */

/** One vocabulary entry. */
export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
  readonly type: number;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  let p = pos;
  for (;;) {
    if (p >= buf.length) throw new Error('truncated varint');
    const b = buf[p++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, p];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

function skipField(buf: Uint8Array, pos: number, wire: number): number {
  switch (wire) {
    case 0:
      return readVarint(buf, pos)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [len, p] = readVarint(buf, pos);
      return p + len;
    }
    case 5:
      return pos + 4;
    default:
      throw new Error(`unsupported wire type ${wire}`);
  }
}

/** Parses the pieces of a SentencePiece model. Throws on bytes that are not one. */
export function readSentencePieces(buf: Uint8Array): SentencePiece[] {
  const pieces: SentencePiece[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    const [key, p] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) {
      const [len, start] = readVarint(buf, p);
      const end = start + len;
      if (end > buf.length) throw new Error('truncated piece');
      let piece = '';
      let score = 0;
      let type = 1;
      let q = start;
      while (q < end) {
        const [k2, q2] = readVarint(buf, q);
        const f2 = Math.floor(k2 / 8);
        const w2 = k2 & 7;
        if (f2 === 1 && w2 === 2) {
          const [l, s] = readVarint(buf, q2);
          piece = new TextDecoder().decode(buf.subarray(s, s + l));
          q = s + l;
        } else if (f2 === 2 && w2 === 5) {
          score = view.getFloat32(q2, true);
          q = q2 + 4;
        } else if (f2 === 3 && w2 === 0) {
          [type, q] = readVarint(buf, q2);
        } else {
          q = skipField(buf, q2, w2);
        }
      }
      pieces.push({ piece, score, type });
      pos = end;
    } else {
      pos = skipField(buf, p, wire);
    }
    if (pos > buf.length) throw new Error('truncated field');
  }
  return pieces;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Writes a SentencePiece ModelProto holding only `pieces` (for tests and tools). */
export function writeSentencePieces(pieces: readonly SentencePiece[]): Uint8Array {
  const out: number[] = [];
  for (const sp of pieces) {
    const text = [...new TextEncoder().encode(sp.piece)];
    const score = new Uint8Array(new Float32Array([sp.score]).buffer);
    const body = [0x0a, ...varint(text.length), ...text, 0x15, ...score, 0x18, ...varint(sp.type)];
    out.push(0x0a, ...varint(body.length), ...body);
  }
  return Uint8Array.from(out);
}
