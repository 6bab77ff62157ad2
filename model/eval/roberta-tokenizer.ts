/**
 * @file RoBERTa's byte-level BPE tokenizer (GPT-2 style) as BERTScore calls it (any process).
 *
 * [Note: BERTScore's tokenization]
 * bert_score's `sent_encode` strips the sentence; an empty one becomes just [<s>, </s>]. Otherwise it
 * calls RoBERTa's (slow, GPT2Tokenizer-based) `encode(sent, add_special_tokens=True, add_prefix_space=True,
 * max_length=512, truncation=True)`: a space is put in front, the text is cut into pieces by GPT-2's
 * regex (contractions, letter runs, digit runs, other runs, each with one optional leading space;
 * whitespace), each piece's UTF-8 bytes are mapped to printable characters (`bytes_to_unicode`) and
 * merged by BPE in merge-rank order, and the ids are wrapped in <s> … </s> and cut to 512 in all.
 * Reads vocab.json + merges.txt or a tokenizer.json. Special-token strings inside the text are not
 * treated specially (they do not occur in captions).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The tokenizer files are missing or malformed. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/** GPT-2's `bytes_to_unicode`: a printable character for every byte. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out = new Array<string>(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i]!)));
  return out;
}

const PRETOKENIZE_RE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const BYTE_CHARS = bytesToUnicode();

/** GPT-2's pre-tokenization: contractions, letter/digit/other runs with one optional leading space, whitespace. */
export function pretokenize(text: string): string[] {
  return text.match(PRETOKENIZE_RE) ?? [];
}
const ENCODER = new TextEncoder();

/** Byte-level BPE with RoBERTa's special tokens. */
export class RobertaTokenizer {
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #ranks: ReadonlyMap<string, number>;
  readonly #cache = new Map<string, string[]>();
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  /** Longest encoding including <s> and </s> (model_max_length). */
  readonly maxLength: number;

  constructor(vocab: ReadonlyMap<string, number>, merges: readonly (readonly [string, string])[], maxLength = 512) {
    this.#vocab = vocab;
    this.#ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
    const special = (tok: string): number => {
      const id = vocab.get(tok);
      if (id === undefined) throw new TokenizerError(`The vocabulary has no "${tok}" token: not a RoBERTa vocabulary`);
      return id;
    };
    this.bosId = special('<s>');
    this.eosId = special('</s>');
    this.padId = special('<pad>');
    this.unkId = special('<unk>');
    this.maxLength = maxLength;
  }

  /** Loads tokenizer.json, or vocab.json + merges.txt, from a model folder. */
  static fromDir(dir: string, maxLength = 512): RobertaTokenizer {
    const tj = join(dir, 'tokenizer.json');
    const vj = join(dir, 'vocab.json');
    const mt = join(dir, 'merges.txt');
    try {
      if (existsSync(vj) && existsSync(mt)) {
        const vocab = new Map(Object.entries(JSON.parse(readFileSync(vj, 'utf8')) as Record<string, number>));
        const merges = readFileSync(mt, 'utf8')
          .split('\n')
          .map((l) => l.replace(/\r$/, ''))
          .filter((l) => l !== '' && !l.startsWith('#version'))
          .map((l) => parseMerge(l));
        return new RobertaTokenizer(vocab, merges, maxLength);
      }
      if (existsSync(tj)) {
        const j = JSON.parse(readFileSync(tj, 'utf8')) as { model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] } };
        if (j.model?.type !== 'BPE' || !j.model.vocab || !j.model.merges) throw new TokenizerError(`${tj} is not a BPE tokenizer`);
        const merges = j.model.merges.map((m) => (typeof m === 'string' ? parseMerge(m) : ([m[0], m[1]] as const)));
        return new RobertaTokenizer(new Map(Object.entries(j.model.vocab)), merges, maxLength);
      }
    } catch (e) {
      if (e instanceof TokenizerError) throw e;
      throw new TokenizerError(`Cannot read the RoBERTa tokenizer in ${dir}: ${(e as Error).message}`);
    }
    throw new TokenizerError(`No RoBERTa tokenizer in ${dir}: expected vocab.json + merges.txt or tokenizer.json`);
  }

  /** BPE pieces of one pre-token (already byte-mapped). */
  #bpe(token: string): string[] {
    const cached = this.#cache.get(token);
    if (cached) return cached;
    let word = Array.from(token);
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best]!;
      const second = word[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]!);
          i++;
        }
      }
      word = merged;
    }
    if (this.#cache.size > 50_000) this.#cache.clear();
    this.#cache.set(token, word);
    return word;
  }

  /** Token strings (byte-mapped) of `text`, no special tokens, no prefix space added. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const piece of pretokenize(text)) {
      let mapped = '';
      for (const b of ENCODER.encode(piece)) mapped += BYTE_CHARS[b]!;
      out.push(...this.#bpe(mapped));
    }
    return out;
  }

  /** bert_score `sent_encode`: [<s>, …ids of " " + text.strip(), </s>], at most {@link maxLength} ids. */
  encodeForBertScore(text: string): number[] {
    const s = text.replace(/^\s+|\s+$/gu, '');
    if (s === '') return [this.bosId, this.eosId];
    const ids = this.tokenize(` ${s}`).map((t) => this.#vocab.get(t) ?? this.unkId);
    return [this.bosId, ...ids.slice(0, this.maxLength - 2), this.eosId];
  }
}

function parseMerge(line: string): readonly [string, string] {
  const sp = line.indexOf(' ');
  if (sp <= 0) throw new TokenizerError(`Malformed BPE merge "${line}"`);
  return [line.slice(0, sp), line.slice(sp + 1)];
}
