/**
 * @file LLaMA / Vicuna tokenizer: SentencePiece BPE with byte fallback, from `tokenizer.model` or an HF
 * `tokenizer.json` (any process; pure after loading).
 *
 * [Note: MusiLingo tokenization conventions]
 * MusiLingo tokenizes each text segment of its prompt separately with `add_special_tokens=False`, so
 * every segment gets SentencePiece's dummy "▁" prefix and no BOS; the caller inserts BOS (id 1) and the
 * audio embeddings between segments. {@link LlamaTokenizer.encode} therefore never adds special tokens,
 * and text is taken literally ("<s>" in a caption is three characters, not BOS). Vicuna v0 appends
 * "[PAD]" as id 32000 (added_tokens.json); it is a special token that decoding skips.
 *
 * [Note: SentencePiece BPE]
 * Normalize (identity for LLaMA; NFKC for nmt_nfkc models, an approximation of SentencePiece's compiled
 * charsmap), prepend " " (add_dummy_prefix), replace " " with "▁". Start from Unicode characters and
 * repeatedly merge the adjacent pair whose concatenation is a normal vocabulary piece with the highest
 * score (tokenizer.model) or the lowest merge rank (tokenizer.json); ties go to the leftmost pair.
 * Symbols that are not pieces become their UTF-8 bytes as <0xXX> pieces (byte fallback) or <unk>.
 * For speed the text is cut before each "▁" that follows a non-"▁" character and the parts are merged
 * independently (with a cache): no LLaMA piece has "▁" after another character, so no merge can cross
 * such a cut. The cut is disabled for a vocabulary where that does not hold. Long runs without spaces
 * (URLs, CJK text) use a heap instead of rescanning, so encoding stays O(n log n).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSentencePieceModel, PieceType } from './sentencepiece-proto';
import type { SentencePiece } from './sentencepiece-proto';

const SPACE = '\u2581';

/** Vicuna v0's padding id ("[PAD]", added after LLaMA's 32,000 pieces). */
export const VICUNA_PAD_ID = 32000;

/** A tokenizer file that cannot be used; the message names the file and the cause. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

interface TokenizerParts {
  pieces: SentencePiece[];
  /** Merge priority of a pair (lower first); undefined when the pair does not merge. */
  rank: (left: string, right: string) => number | undefined;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  nfkc: boolean;
  addedTokens: Record<string, number>;
}

/** Encode/decode for LLaMA-family SentencePiece BPE vocabularies. See the Notes above. */
export class LlamaTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  /** [PAD] id when the vocabulary has one (Vicuna: 32000), else -1. */
  readonly padId: number;
  private readonly pieces: SentencePiece[];
  private readonly pieceToIdMap = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly cache = new Map<string, number[]>();
  private readonly canCut: boolean;

  private constructor(private readonly parts: TokenizerParts) {
    this.pieces = [...parts.pieces];
    for (const [piece, id] of Object.entries(parts.addedTokens)) {
      while (this.pieces.length <= id) this.pieces.push({ piece: '', score: 0, type: PieceType.UNUSED });
      this.pieces[id] = { piece, score: 0, type: PieceType.CONTROL };
    }
    this.pieces.forEach((p, id) => {
      if (p.type === PieceType.BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p.piece);
        if (m) this.byteIds[parseInt(m[1]!, 16)] = id;
      } else if (!this.pieceToIdMap.has(p.piece) && p.type !== PieceType.UNUSED) {
        this.pieceToIdMap.set(p.piece, id);
      }
    });
    this.canCut = !this.pieces.some((p) => p.type === PieceType.NORMAL && /[^\u2581]\u2581/u.test(p.piece));
    this.bosId = parts.bosId;
    this.eosId = parts.eosId;
    this.unkId = parts.unkId;
    this.padId = parts.addedTokens['[PAD]'] ?? -1;
  }

  /** Vocabulary size including added tokens. */
  get vocabSize(): number {
    return this.pieces.length;
  }

  /** From a SentencePiece tokenizer.model (bytes). `source` names the file in errors. */
  static fromSentencePiece(bytes: Uint8Array, opts: { addedTokens?: Record<string, number>; source?: string } = {}): LlamaTokenizer {
    const source = opts.source ?? 'tokenizer.model';
    let m;
    try {
      m = parseSentencePieceModel(bytes);
    } catch (e) {
      throw new TokenizerError(`${source} is not a SentencePiece model: ${(e as Error).message}`);
    }
    if (m.modelType !== 2) {
      const names: Record<number, string> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };
      throw new TokenizerError(`${source}: SentencePiece model type ${names[m.modelType] ?? m.modelType} is not supported. Expected one of: BPE`);
    }
    const score = new Map<string, number>();
    for (const p of m.pieces) if (p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED) score.set(p.piece, p.score);
    return new LlamaTokenizer({
      pieces: m.pieces,
      rank: (a, b) => {
        const s = score.get(a + b);
        return s === undefined ? undefined : -s;
      },
      byteFallback: m.byteFallback,
      unkId: m.unkId,
      bosId: m.bosId,
      eosId: m.eosId,
      addDummyPrefix: m.addDummyPrefix,
      removeExtraWhitespaces: m.removeExtraWhitespaces,
      nfkc: m.normalizerName.startsWith('nmt_nfkc') || m.normalizerName === 'nfkc',
      addedTokens: opts.addedTokens ?? {},
    });
  }

  /** From an HF tokenizer.json object (BPE model with merges). */
  static fromTokenizerJson(json: unknown, source = 'tokenizer.json'): LlamaTokenizer {
    const j = json as { model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean; unk_token?: string }; added_tokens?: { id: number; content: string; special?: boolean }[] };
    const model = j.model;
    if (!model || model.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) {
      throw new TokenizerError(`${source}: model type ${JSON.stringify(model?.type)} is not supported. Expected one of: BPE (with vocab and merges)`);
    }
    const size = Math.max(...Object.values(model.vocab)) + 1;
    const pieces: SentencePiece[] = Array.from({ length: size }, () => ({ piece: '', score: 0, type: PieceType.UNUSED }));
    const special = new Set((j.added_tokens ?? []).filter((t) => t.special).map((t) => t.content));
    for (const [piece, id] of Object.entries(model.vocab)) {
      const type = /^<0x[0-9A-F]{2}>$/.test(piece) ? PieceType.BYTE
        : piece === model.unk_token ? PieceType.UNKNOWN
          : special.has(piece) ? PieceType.CONTROL : PieceType.NORMAL;
      pieces[id] = { piece, score: 0, type };
    }
    const ranks = new Map<string, number>();
    model.merges.forEach((m, i) => {
      const key = Array.isArray(m) ? `${m[0]} ${m[1]}` : m;
      if (!ranks.has(key)) ranks.set(key, i);
    });
    const added: Record<string, number> = {};
    for (const t of j.added_tokens ?? []) if (t.id >= size) added[t.content] = t.id;
    const text = JSON.stringify([(json as Record<string, unknown>).normalizer ?? null, (json as Record<string, unknown>).pre_tokenizer ?? null]);
    const addDummyPrefix = /"Prepend"|"prepend_scheme":"(first|always)"|"add_prefix_space":true/.test(text);
    const id = (piece: string, fallback: number): number => model.vocab![piece] ?? fallback;
    return new LlamaTokenizer({
      pieces,
      rank: (a, b) => ranks.get(`${a} ${b}`),
      byteFallback: model.byte_fallback === true,
      unkId: id(model.unk_token ?? '<unk>', 0),
      bosId: id('<s>', 1),
      eosId: id('</s>', 2),
      addDummyPrefix,
      removeExtraWhitespaces: false,
      nfkc: /"NFKC"/.test(text),
      addedTokens: added,
    });
  }

  /** The piece string of an id (e.g. "▁music", "<0x0A>"). */
  idToPiece(id: number): string | undefined {
    return this.pieces[id]?.piece;
  }

  /** The id of a piece, if it is in the vocabulary. */
  pieceToId(piece: string): number | undefined {
    return this.pieceToIdMap.get(piece);
  }

  /** Token ids of `text`, without BOS/EOS; see [Note: MusiLingo tokenization conventions]. */
  encode(text: string): number[] {
    let t = text;
    if (this.parts.nfkc) t = t.normalize('NFKC');
    if (this.parts.removeExtraWhitespaces) t = t.trim().replace(/ {2,}/g, ' ');
    if (t.length === 0) return [];
    if (this.parts.addDummyPrefix) t = ' ' + t;
    t = t.replaceAll(' ', SPACE);
    const out: number[] = [];
    const chunks = this.canCut ? t.split(/(?<=[^\u2581])(?=\u2581)/u) : [t];
    for (const chunk of chunks) {
      let ids = this.cache.get(chunk);
      if (!ids) {
        ids = this.encodeChunk(chunk);
        if (this.cache.size > 100_000) this.cache.clear();
        this.cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  private encodeChunk(chunk: string): number[] {
    const chars = Array.from(chunk);
    const sym = chars.length <= 48 ? mergeSimple(chars, this.parts.rank) : mergeWithHeap(chars, this.parts.rank);
    const ids: number[] = [];
    for (const s of sym) {
      const id = this.pieceToIdMap.get(s);
      const type = id === undefined ? undefined : this.pieces[id]!.type;
      if (id !== undefined && (type === PieceType.NORMAL || type === PieceType.USER_DEFINED)) {
        ids.push(id);
      } else if (this.parts.byteFallback) {
        for (const b of new TextEncoder().encode(s)) ids.push(this.byteIds[b]! >= 0 ? this.byteIds[b]! : this.unkId);
      } else {
        ids.push(this.unkId);
      }
    }
    return ids;
  }

  /**
   * Text of `ids`: "▁" → " ", byte pieces joined and decoded as UTF-8, the dummy-prefix space of the
   * first piece removed, special tokens (BOS, EOS, [PAD]) skipped unless `skipSpecialTokens` is false.
   */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const utf8 = new TextDecoder('utf-8');
    let out = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length > 0) out += utf8.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const p = this.pieces[id];
      if (!p) throw new RangeError(`Token id ${id} is outside the vocabulary (${this.pieces.length})`);
      if (p.type === PieceType.BYTE) {
        bytes.push(parseInt(p.piece.slice(3, 5), 16));
        continue;
      }
      flush();
      if (p.type === PieceType.CONTROL || p.type === PieceType.UNUSED) {
        if (!skip) out += p.piece;
      } else if (p.type === PieceType.UNKNOWN) {
        out += ' \u2047 ';
      } else {
        out += p.piece.replaceAll(SPACE, ' ');
      }
    }
    flush();
    if (this.parts.addDummyPrefix && out.startsWith(' ')) out = out.slice(1);
    return out;
  }
}

type Rank = (left: string, right: string) => number | undefined;

/** BPE merges by rescanning all pairs: fastest for the short pieces text is cut into. */
function mergeSimple(sym: string[], rank: Rank): string[] {
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < sym.length; i++) {
      const r = rank(sym[i]!, sym[i + 1]!);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) return sym;
    sym.splice(best, 2, sym[best]! + sym[best + 1]!);
  }
}

/**
 * The same merges in O(n log n) for long runs without spaces: a linked list of symbols and a min-heap of
 * candidate pairs ordered by (rank, position); stale entries are recognised by version counters.
 */
function mergeWithHeap(chars: string[], rank: Rank): string[] {
  const n = chars.length;
  const str = [...chars];
  const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const version = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  // Entry: [rank, left, right, versionLeft, versionRight]
  const heap: [number, number, number, number, number][] = [];
  const less = (a: [number, number, number, number, number], b: [number, number, number, number, number]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (l: number): void => {
    const r = next[l]!;
    if (l < 0 || r < 0) return;
    const k = rank(str[l]!, str[r]!);
    if (k === undefined) return;
    heap.push([k, l, r, version[l]!, version[r]!]);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): [number, number, number, number, number] => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const a = 2 * i + 1;
        const b = a + 1;
        let m = i;
        if (a < heap.length && less(heap[a]!, heap[m]!)) m = a;
        if (b < heap.length && less(heap[b]!, heap[m]!)) m = b;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  for (let i = 0; i + 1 < n; i++) push(i);
  while (heap.length > 0) {
    const [, l, r, vl, vr] = pop();
    if (!alive[l] || !alive[r] || next[l] !== r || version[l] !== vl || version[r] !== vr) continue;
    str[l] = str[l]! + str[r]!;
    version[l]!++;
    alive[r] = 0;
    next[l] = next[r]!;
    if (next[r]! >= 0) prev[next[r]!] = l;
    if (prev[l]! >= 0) push(prev[l]!);
    push(l);
  }
  const out: string[] = [];
  for (let i = 0; i >= 0 && i < n; i = next[i]!) out.push(str[i]!);
  return out;
}

/**
 * Loads the tokenizer in `dir`: tokenizer.model (preferred: MusiLingo's reference uses the SentencePiece
 * tokenizer) or tokenizer.json, plus added_tokens.json when present.
 */
export async function loadLlamaTokenizer(dir: string): Promise<LlamaTokenizer> {
  let added: Record<string, number> = {};
  try {
    added = JSON.parse(await readFile(join(dir, 'added_tokens.json'), 'utf8')) as Record<string, number>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TokenizerError(`Cannot read ${join(dir, 'added_tokens.json')}: ${(e as Error).message}`);
  }
  const spPath = join(dir, 'tokenizer.model');
  try {
    const bytes = await readFile(spPath);
    return LlamaTokenizer.fromSentencePiece(bytes, { addedTokens: added, source: spPath });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const jsonPath = join(dir, 'tokenizer.json');
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    throw new TokenizerError(`No tokenizer in ${dir}: expected tokenizer.model or tokenizer.json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${jsonPath} is not valid JSON: ${(e as Error).message}`);
  }
  return LlamaTokenizer.fromTokenizerJson(json, jsonPath);
}
