/**
 * @file Builds MusiLingo-like checkpoints from the tiny golden fixtures (tiny-mert + tiny-llama + the
 * tiny-musilingo adapter) for the fake Hub and the converter tests: three shards (MERT float32, Llama float16,
 * llama_proj float32) under wrapper prefixes with a model.safetensors.index.json, or one file; a config.json
 * with nested component configs; and a tiny SentencePiece tokenizer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint, writeSafetensors, type TensorToWrite } from '../../../model/safetensors';
import { writeSentencePieces } from '../../../main/models/sentencepiece';
import { encodeSentencePieceModel, PieceType } from '../../../model/tokenizer/sentencepiece-proto';

/** test/fixtures. */
export const FIXTURES = fileURLToPath(new URL('../../fixtures', import.meta.url));

/** Wrapper prefixes of each component, as a merged MusiLingo checkpoint might spell them. */
export interface Prefixes {
  readonly mert: string;
  readonly llama: string;
  readonly proj: string;
}

/** The prefixes of the sharded test repo. */
export const SHARDED_PREFIXES: Prefixes = { mert: 'model.audio_encoder.', llama: 'model.llama_model.', proj: 'model.' };

async function tensorsOf(path: string, prefix: string): Promise<Map<string, TensorToWrite>> {
  const ck = await openCheckpoint(path);
  const out = new Map<string, TensorToWrite>();
  try {
    for (const name of ck.names()) {
      const raw = await ck.readRaw(name);
      out.set(prefix + name, { dtype: raw.dtype, shape: raw.shape, bytes: raw.bytes });
    }
  } finally {
    await ck.close();
  }
  return out;
}

/** config.json of the merged checkpoint: the two component configs nested, as a wrapper model would hold them. */
export async function mergedConfig(): Promise<Uint8Array> {
  const mert = JSON.parse(await readFile(join(FIXTURES, 'tiny-mert', 'config.json'), 'utf8')) as unknown;
  const llama = JSON.parse(await readFile(join(FIXTURES, 'tiny-llama', 'config.json'), 'utf8')) as unknown;
  return Buffer.from(JSON.stringify({ model_type: 'musilingo', architectures: ['MusiLingo'], mert_config: mert, llama_config: llama }));
}

/**
 * A BPE SentencePiece model (LLaMA's type, which the app's tokenizer runs) with LLaMA's special pieces
 * (<unk> 0, <s> 1, </s> 2) and a few words.
 */
export function tinyTokenizerModel(): Uint8Array {
  const words = ['▁the', '▁music', '▁is', '▁slow', '▁piano', 'a', 'b'];
  return encodeSentencePieceModel({
    pieces: [
      { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
      { piece: '<s>', score: 0, type: PieceType.CONTROL },
      { piece: '</s>', score: 0, type: PieceType.CONTROL },
      ...words.map((w, i) => ({ piece: w, score: -i, type: PieceType.NORMAL })),
    ],
    modelType: 2, byteFallback: false, unkId: 0, bosId: 1, eosId: 2, padId: -1,
    normalizerName: 'identity', addDummyPrefix: true, removeExtraWhitespaces: false, escapeWhitespaces: true,
  });
}

/** The same pieces as a UNIGRAM model (SentencePiece's default type), which the app cannot run. */
export function unigramTokenizerModel(): Uint8Array {
  const words = ['▁the', '▁music', '▁is', '▁slow', '▁piano', 'a', 'b'];
  return writeSentencePieces([
    { piece: '<unk>', score: 0, type: 2 },
    { piece: '<s>', score: 0, type: 3 },
    { piece: '</s>', score: 0, type: 3 },
    ...words.map((w, i) => ({ piece: w, score: -i, type: 1 })),
  ]);
}

/** Tokenizer repo files (lmsys/vicuna-7b-delta-v0 layout). */
export function tokenizerRepoFiles(): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    ['tokenizer.model', tinyTokenizerModel()],
    ['tokenizer_config.json', Buffer.from(JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true }))],
    ['special_tokens_map.json', Buffer.from(JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }))],
  ]);
}

/**
 * Repo files of a MusiLingo-like checkpoint: `sharded` gives three shards + index (MusiLingo's layout),
 * otherwise one model.safetensors. Both include config.json.
 */
export async function musilingoRepoFiles(opts: { sharded: boolean; prefixes?: Prefixes }): Promise<Map<string, Uint8Array>> {
  const p = opts.prefixes ?? SHARDED_PREFIXES;
  const mert = await tensorsOf(join(FIXTURES, 'tiny-mert', 'model.safetensors'), p.mert);
  const llama = await tensorsOf(join(FIXTURES, 'tiny-llama', 'model.safetensors'), p.llama);
  const proj = await tensorsOf(join(FIXTURES, 'tiny-musilingo', 'adapter.safetensors'), p.proj);
  const dir = await mkdtemp(join(tmpdir(), 'ml-repo-'));
  const files = new Map<string, Uint8Array>();
  try {
    if (opts.sharded) {
      const shards: Array<[string, Map<string, TensorToWrite>]> = [
        ['model-00001-of-00003.safetensors', mert],
        ['model-00002-of-00003.safetensors', llama],
        ['model-00003-of-00003.safetensors', proj],
      ];
      const weightMap: Record<string, string> = {};
      let total = 0;
      for (const [name, tensors] of shards) {
        await writeSafetensors(join(dir, name), tensors, { format: 'pt' });
        files.set(name, await readFile(join(dir, name)));
        for (const [t, v] of tensors) {
          weightMap[t] = name;
          total += 'bytes' in v ? v.bytes.byteLength : v.data.byteLength;
        }
      }
      files.set('model.safetensors.index.json', Buffer.from(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)));
    } else {
      await writeSafetensors(join(dir, 'model.safetensors'), new Map([...mert, ...llama, ...proj]), { format: 'pt' });
      files.set('model.safetensors', await readFile(join(dir, 'model.safetensors')));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  files.set('config.json', await mergedConfig());
  return files;
}
