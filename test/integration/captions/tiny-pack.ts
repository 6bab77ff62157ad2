/**
 * @file Builds a tiny model pack for caption tests with the real converter (main/models/convert.ts) from the
 * golden fixtures (tiny-mert + tiny-llama + tiny-musilingo's adapter, as a MusiLingo-like sharded checkpoint)
 * and a tokenizer.model with LLaMA's real 32,000-piece vocabulary (from llama-tokenizer-js, as the tokenizer
 * tests build it), so generated ids decode to real sub-words.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import llamaTokenizerJs from 'llama-tokenizer-js';
import { convertCheckpoint } from '../../../main/models/convert';
import { readLlamaConfig } from '../../../model/llama/config';
import { readMertConfig } from '../../../model/mert/config';
import { encodeSentencePieceModel, PieceType, type SentencePieceModel } from '../../../model/tokenizer/sentencepiece-proto';
import { musilingoRepoFiles } from '../../support/models/tiny-repo';

/** Writes tokenizer.model (+ config files) with LLaMA's vocabulary and merge order into `dir`. */
export async function writeLlamaTokenizer(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const vocab = llamaTokenizerJs.vocabById;
  const merges = [...llamaTokenizerJs.merges.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
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
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true }));
  await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }));
}

/**
 * Converts the tiny MusiLingo-like checkpoint into a float32 pack at `outDir` (under `work`). With
 * `fixturesDir` (bundled benchmarks, where the test helpers cannot locate the fixtures) the three fixture
 * checkpoints are converted as separate files instead of a sharded repo.
 */
export async function buildTinyPack(work: string, outDir: string, fixturesDir?: string): Promise<void> {
  const tok = join(work, 'tiny-tok');
  await writeLlamaTokenizer(tok);
  if (fixturesDir) {
    await convertCheckpoint({
      modelId: 'tiny',
      sources: [join(fixturesDir, 'tiny-mert', 'model.safetensors'), join(fixturesDir, 'tiny-llama', 'model.safetensors'), join(fixturesDir, 'tiny-musilingo', 'adapter.safetensors')],
      tokenizerDir: tok,
      outDir,
      variant: 'float32',
      encoderConfig: await readMertConfig(join(fixturesDir, 'tiny-mert', 'config.json')),
      decoderConfig: await readLlamaConfig(join(fixturesDir, 'tiny-llama', 'config.json')),
    });
    return;
  }
  const ck = join(work, 'tiny-ckpt');
  await mkdir(ck, { recursive: true });
  for (const [name, bytes] of await musilingoRepoFiles({ sharded: true })) await writeFile(join(ck, name), bytes);
  await convertCheckpoint({ modelId: 'tiny', sources: ck, tokenizerDir: tok, outDir, variant: 'float32' });
}
