/**
 * @file LLaMA tokenizer vs llama-tokenizer-js (which ships LLaMA's real vocabulary and merges) on every
 * MusicCaps caption and edge cases, through both a tokenizer.model and a tokenizer.json built here from
 * that data.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import llamaTokenizerJs from 'llama-tokenizer-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../../../model/eval/datasets';
import { LlamaTokenizer, loadLlamaTokenizer, TokenizerError, VICUNA_PAD_ID } from '../../../../model/tokenizer/llama-tokenizer';
import { encodeSentencePieceModel, parseSentencePieceModel, PieceType } from '../../../../model/tokenizer/sentencepiece-proto';
import type { SentencePieceModel } from '../../../../model/tokenizer/sentencepiece-proto';

// A copy of MusicCaps (CC BY-SA 4.0) lives in test/fixtures; see test/fixtures/README.md.
const CSV = join(import.meta.dirname, '../../../fixtures/musiccaps-public.csv');

const EDGE_CASES = [
  '', ' ', '  ', 'a', '   runs   of    spaces   ', 'trailing ', ' leading', '###', '##', '#', '###Human: <Audio>',
  '</Audio> Please give a caption to the music. ###Assistant: ', 'Assistant:', ' ###Assistant: ',
  'emoji 🎸🥁🎹 and 👩‍🎤', 'café naïve Motörhead Sigur Rós', '日本語の音楽 и русский', 'tab\tnew\nline\r\n',
  '<s> </s> <unk> [PAD]', 'x'.repeat(300), '音楽的な日本語のテキスト'.repeat(30) + 'abcdefghij'.repeat(20),
  'supercalifragilisticexpialidocious'.repeat(5), 'https://example.com/some/long/path?with=query&and=more#fragment-ids', '1234567890 3/4 4:4 120bpm', '\u0000\u0001', 'ẞ ǅ ﬁ', '🎵'.repeat(20),
];

let dir: string;
let fromModel: LlamaTokenizer;
let fromJson: LlamaTokenizer;
let captions: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tok-test-'));
  const ljs = llamaTokenizerJs;
  const vocab = ljs.vocabById;
  // llama-tokenizer-js keeps merges as "left right" -> priority (lower merges first).
  const merges = [...ljs.merges.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
  // A SentencePiece model with the same vocabulary; a piece's score is minus the rank of the first merge
  // that produces it, which makes "highest score first" equal to "lowest merge rank first".
  const firstRank = new Map<string, number>();
  merges.forEach((m, i) => {
    const piece = m.replace(' ', '');
    if (!firstRank.has(piece)) firstRank.set(piece, i);
  });
  const model: SentencePieceModel = {
    pieces: vocab.map((piece, id) => ({
      piece,
      score: id < 3 || /^<0x[0-9A-F]{2}>$/.test(piece) ? 0 : -(firstRank.get(piece) ?? 1e6 + id),
      type: id === 0 ? PieceType.UNKNOWN : id < 3 ? PieceType.CONTROL : id < 259 ? PieceType.BYTE : PieceType.NORMAL,
    })),
    modelType: 2, byteFallback: true, unkId: 0, bosId: 1, eosId: 2, padId: -1,
    normalizerName: 'identity', addDummyPrefix: true, removeExtraWhitespaces: false, escapeWhitespaces: true,
  };
  await writeFile(join(dir, 'tokenizer.model'), encodeSentencePieceModel(model));
  await writeFile(join(dir, 'added_tokens.json'), JSON.stringify({ '[PAD]': 32000 }));
  fromModel = await loadLlamaTokenizer(dir);
  fromJson = LlamaTokenizer.fromTokenizerJson({
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    added_tokens: [{ id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true }, { id: 32000, content: '[PAD]', special: true }],
    model: { type: 'BPE', vocab: Object.fromEntries(vocab.map((p, i) => [p, i])), merges, byte_fallback: true, unk_token: '<unk>' },
  });
  const csv = readFileSync(CSV, 'utf8');
  const rows = parseCsv(csv);
  const col = rows[0]!.indexOf('caption');
  captions = rows.slice(1).map((r) => r[col]!).filter((c) => c !== undefined);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LlamaTokenizer', () => {
  it('round-trips the SentencePiece model file', () => {
    const m = parseSentencePieceModel(encodeSentencePieceModel({
      pieces: [{ piece: '<unk>', score: 0, type: PieceType.UNKNOWN }, { piece: '▁a', score: -1.5, type: PieceType.NORMAL }],
      modelType: 2, byteFallback: true, unkId: 0, bosId: 1, eosId: 2, padId: -1,
      normalizerName: 'identity', addDummyPrefix: true, removeExtraWhitespaces: false, escapeWhitespaces: true,
    }));
    expect(m.pieces[1]).toEqual({ piece: '▁a', score: -1.5, type: PieceType.NORMAL });
    expect(m).toMatchObject({ modelType: 2, byteFallback: true, padId: -1, normalizerName: 'identity', removeExtraWhitespaces: false });
  });

  it('encodes every MusicCaps caption like llama-tokenizer-js, from tokenizer.model and tokenizer.json', () => {
    expect(captions.length).toBeGreaterThan(5500);
    let mismatches = 0;
    const firstBad: string[] = [];
    for (const c of captions) {
      const expected = llamaTokenizerJs.encode(c, false, true);
      const a = fromModel.encode(c);
      const b = fromJson.encode(c);
      if (!sameIds(a, expected) || !sameIds(b, expected)) {
        mismatches++;
        if (firstBad.length < 3) firstBad.push(c);
      }
      if (fromModel.decode(a) !== c) {
        mismatches++;
        if (firstBad.length < 3) firstBad.push(`decode: ${c}`);
      }
    }
    expect(firstBad).toEqual([]);
    expect(mismatches).toBe(0);
  });

  it('handles edge cases like llama-tokenizer-js and decodes them back', () => {
    for (const text of EDGE_CASES) {
      const expected = text === '' ? [] : llamaTokenizerJs.encode(text, false, true);
      expect(fromModel.encode(text), JSON.stringify(text)).toEqual(expected);
      expect(fromJson.encode(text), JSON.stringify(text)).toEqual(expected);
      expect(fromModel.decode(fromModel.encode(text)), JSON.stringify(text)).toBe(text);
    }
    // MusiLingo's stop token: "###" is one piece (835) at the start of a segment.
    expect(fromModel.encode('###')).toEqual([835]);
    expect(fromModel.encode('###Human: <Audio>')[0]).toBe(835);
  });

  it('knows the special ids, skips them when decoding, and uses byte fallback', () => {
    expect([fromModel.bosId, fromModel.eosId, fromModel.unkId, fromModel.padId]).toEqual([1, 2, 0, VICUNA_PAD_ID]);
    expect(fromModel.vocabSize).toBe(32001);
    expect(fromModel.decode([1, ...fromModel.encode('The song'), 2, VICUNA_PAD_ID])).toBe('The song');
    expect(fromModel.decode([1, 450], { skipSpecialTokens: false })).toBe('<s> The');
    expect(fromModel.encode('🎸').map((id) => fromModel.idToPiece(id))).toEqual(['▁', '<0xF0>', '<0x9F>', '<0x8E>', '<0xB8>']);
  });

  it('rejects files that are not SentencePiece BPE models, naming the file', async () => {
    expect(() => LlamaTokenizer.fromSentencePiece(new Uint8Array([0x0a, 0xff]), { source: 'x/tokenizer.model' })).toThrow(/x\/tokenizer.model is not a SentencePiece model/);
    const unigram = encodeSentencePieceModel({
      pieces: [{ piece: '<unk>', score: 0, type: PieceType.UNKNOWN }], modelType: 1, byteFallback: false, unkId: 0, bosId: 1, eosId: 2, padId: -1,
      normalizerName: 'nmt_nfkc', addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
    });
    expect(() => LlamaTokenizer.fromSentencePiece(unigram)).toThrow(/model type UNIGRAM is not supported. Expected one of: BPE/);
    await expect(loadLlamaTokenizer(join(dir, 'nowhere'))).rejects.toThrow(TokenizerError);
  });
});

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
