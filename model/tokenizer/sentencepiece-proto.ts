/**
 * @file Minimal protobuf codec for SentencePiece `tokenizer.model` files (any process; pure functions).
 *
 * Only the fields a BPE tokenizer needs are read: ModelProto.pieces (piece, score, type), TrainerSpec
 * (model_type, byte_fallback, special ids) and NormalizerSpec (name, add_dummy_prefix,
 * remove_extra_whitespaces, escape_whitespaces). Unknown fields are skipped, so newer files still load.
 * The encoder writes the same subset (tests build tokenizer.model files with it).
 */

/** SentencePiece piece types (sentencepiece_model.proto). */
export enum PieceType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

/** One vocabulary entry. */
export interface SentencePiece {
  piece: string;
  score: number;
  type: PieceType;
}

/** The parts of a SentencePiece ModelProto this app uses. */
export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR. */
  modelType: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  normalizerName: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

/** A file that is not a SentencePiece model. */
export class SentencePieceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SentencePieceFormatError';
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, private readonly end = buf.length) {}
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new SentencePieceFormatError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new SentencePieceFormatError('varint too long');
    }
  }
  /** An int32 field: the low 32 bits of the varint, signed (-1 is written as ten bytes). */
  int32(): number {
    let lo = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new SentencePieceFormatError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 32) lo |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return lo | 0;
      shift += 7;
      if (shift > 63) throw new SentencePieceFormatError('varint too long');
    }
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new SentencePieceFormatError('length-delimited field runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  float(): number {
    if (this.pos + 4 > this.end) throw new SentencePieceFormatError('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new SentencePieceFormatError(`unsupported wire type ${wire}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function eachField(buf: Uint8Array, fn: (field: number, wire: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (!fn(field, wire, r)) r.skip(wire);
  }
}

/** Parses a tokenizer.model; throws {@link SentencePieceFormatError} when the bytes are not one. */
export function parseSentencePieceModel(buf: Uint8Array): SentencePieceModel {
  const m: SentencePieceModel = {
    pieces: [], modelType: 1, byteFallback: false, unkId: 0, bosId: 1, eosId: 2, padId: -1,
    normalizerName: 'nmt_nfkc', addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
  };
  eachField(buf, (field, wire, r) => {
    if (field === 1 && wire === 2) {
      const p: SentencePiece = { piece: '', score: 0, type: PieceType.NORMAL };
      eachField(r.bytes(), (f, w, rr) => {
        if (f === 1 && w === 2) p.piece = utf8.decode(rr.bytes());
        else if (f === 2 && w === 5) p.score = rr.float();
        else if (f === 3 && w === 0) p.type = rr.varint() as PieceType;
        else return false;
        return true;
      });
      m.pieces.push(p);
      return true;
    }
    if (field === 2 && wire === 2) {
      eachField(r.bytes(), (f, w, rr) => {
        if (w !== 0) return false;
        const signed = rr.int32();
        const v = signed;
        if (f === 3) m.modelType = v;
        else if (f === 35) m.byteFallback = v !== 0;
        else if (f === 40) m.unkId = signed;
        else if (f === 41) m.bosId = signed;
        else if (f === 42) m.eosId = signed;
        else if (f === 43) m.padId = signed;
        return true;
      });
      return true;
    }
    if (field === 3 && wire === 2) {
      eachField(r.bytes(), (f, w, rr) => {
        if (f === 1 && w === 2) m.normalizerName = utf8.decode(rr.bytes());
        else if (f === 3 && w === 0) m.addDummyPrefix = rr.varint() !== 0;
        else if (f === 4 && w === 0) m.removeExtraWhitespaces = rr.varint() !== 0;
        else if (f === 5 && w === 0) m.escapeWhitespaces = rr.varint() !== 0;
        else return false;
        return true;
      });
      return true;
    }
    return false;
  });
  if (m.pieces.length === 0) throw new SentencePieceFormatError('no vocabulary pieces');
  return m;
}

class Writer {
  private readonly parts: number[] = [];
  varint(v: number): this {
    // Negative int32 values are sign-extended to 64 bits (ten bytes), as protobuf writes them.
    let x = v < 0 ? (1n << 64n) + BigInt(v) : BigInt(v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
    return this;
  }
  key(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.key(field, 5);
    for (const x of b) this.parts.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Serializes a model (the fields {@link parseSentencePieceModel} reads). */
export function encodeSentencePieceModel(m: SentencePieceModel): Uint8Array {
  const enc = new TextEncoder();
  const w = new Writer();
  for (const p of m.pieces) {
    const pw = new Writer().bytes(1, enc.encode(p.piece)).float(2, p.score).key(3, 0).varint(p.type);
    w.bytes(1, pw.finish());
  }
  const t = new Writer().key(3, 0).varint(m.modelType).key(35, 0).varint(m.byteFallback ? 1 : 0)
    .key(40, 0).varint(m.unkId).key(41, 0).varint(m.bosId).key(42, 0).varint(m.eosId).key(43, 0).varint(m.padId);
  w.bytes(2, t.finish());
  const n = new Writer().bytes(1, enc.encode(m.normalizerName)).key(3, 0).varint(m.addDummyPrefix ? 1 : 0)
    .key(4, 0).varint(m.removeExtraWhitespaces ? 1 : 0).key(5, 0).varint(m.escapeWhitespaces ? 1 : 0);
  w.bytes(3, n.finish());
  return w.finish();
}
