/**
 * @file Import takes the files a model needs and lists the rest (the fixture folders, goldens and all, import as
 * they are); the tokenizer is loaded and run at import and at convert (a UNIGRAM tokenizer.model is refused
 * before a pack is Ready); `installDemoModel` builds the ready demo pack through the same import/convert path,
 * with LLaMA's real tokenizer from llama-tokenizer-js.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModelPack, upsertModelPack } from '../../../main/db/models';
import { openDatabase } from '../../../main/db/open';
import { checkpointFiles, describeCheckpoint } from '../../../main/models/checkpoint-files';
import { convertCheckpoint } from '../../../main/models/convert';
import { DEMO_MODEL_ID, demoAssetsDir, installDemoModel, writeLlamaTokenizer } from '../../../main/models/demo';
import { BadCheckpointError } from '../../../main/models/errors';
import { convertModel, importModel } from '../../../main/models/manager';
import { readPackManifest } from '../../../main/models/pack';
import { checkTokenizer } from '../../../main/models/tokenizer-check';
import { loadLlamaTokenizer } from '../../../model/tokenizer/llama-tokenizer';
import { FIXTURES, tokenizerRepoFiles, unigramTokenizerModel } from '../../support/models/tiny-repo';

let dir: string;
let db: Database.Database;
const fixtureDirs = ['tiny-mert', 'tiny-llama', 'tiny-musilingo'].map((d) => join(FIXTURES, d));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ml-demo-'));
  db = openDatabase(':memory:');
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

async function writeTok(d: string, model: Uint8Array): Promise<string> {
  await mkdir(d, { recursive: true });
  for (const [name, bytes] of tokenizerRepoFiles()) await writeFile(join(d, name), bytes);
  await writeFile(join(d, 'tokenizer.model'), model);
  return d;
}

describe('import takes only what a model needs', () => {
  it('takes the weights of the fixture folders as they are and lists goldens as ignored', async () => {
    const files = await checkpointFiles(fixtureDirs);
    expect(files).toEqual([join(FIXTURES, 'tiny-mert', 'model.safetensors'), join(FIXTURES, 'tiny-llama', 'model.safetensors'), join(FIXTURES, 'tiny-musilingo', 'adapter.safetensors')]);
    const sel = await describeCheckpoint(fixtureDirs);
    const ignored = sel.flatMap((s) => s.ignored.map((i) => i.file.slice(FIXTURES.length + 1)));
    expect(ignored).toEqual(expect.arrayContaining(['tiny-mert/golden.safetensors', 'tiny-mert/golden.json', 'tiny-llama/golden.safetensors', 'tiny-musilingo/golden.safetensors']));
    expect(sel[0]?.ignored.find((i) => i.file.endsWith('golden.safetensors'))?.reason).toBe('holds no MERT, Llama or adapter tensors');
    expect(ignored).not.toContain('tiny-mert/config.json');
  });

  it('imports and converts the fixture folders as they are', async () => {
    const ctx = { db, modelsDir: join(dir, 'models') };
    const tok = await writeTok(join(dir, 'tok-bpe'), tokenizerRepoFiles().get('tokenizer.model')!);
    await importModel(ctx, fixtureDirs, 'float32', { modelId: 'fixtures', tokenizerDir: tok });
    const ready = await convertModel(ctx, 'fixtures', 'float32', { smokeExecutionProviders: ['cpu'] });
    expect(ready.state).toBe('ready');
  });

  it('refuses a folder whose safetensors hold no model weights, naming it', async () => {
    const d = join(dir, 'only-goldens');
    await mkdir(d, { recursive: true });
    const { copyFile } = await import('node:fs/promises');
    await copyFile(join(FIXTURES, 'tiny-llama', 'golden.safetensors'), join(d, 'golden.safetensors'));
    await expect(checkpointFiles(d)).rejects.toThrow(`No model weights in ${d}`);
  });
});

describe('the tokenizer is run before a pack can be Ready', () => {
  it('refuses a UNIGRAM tokenizer.model at import, naming the file', async () => {
    const ctx = { db, modelsDir: join(dir, 'models') };
    const tok = await writeTok(join(dir, 'tok-unigram'), unigramTokenizerModel());
    const err = await importModel(ctx, fixtureDirs, 'float32', { modelId: 'unigram', tokenizerDir: tok }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadCheckpointError);
    expect((err as Error).message).toContain(join(tok, 'tokenizer.model'));
    expect((err as Error).message).toContain('UNIGRAM');
    expect(getModelPack(db, 'unigram@float32')).toBeUndefined();
  });

  it('refuses a UNIGRAM tokenizer.model at convert (a pack registered before the check)', async () => {
    const ctx = { db, modelsDir: join(dir, 'models') };
    const tok = await writeTok(join(dir, 'tok-unigram2'), unigramTokenizerModel());
    const out = join(dir, 'unigram-pack');
    await expect(convertCheckpoint({ modelId: 'u', sources: fixtureDirs, tokenizerDir: tok, outDir: out, variant: 'float32' })).rejects.toThrow(/UNIGRAM/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    // The same through the manager: the row ends failed, not ready.
    const sources = join(dir, 'late-sources');
    await mkdir(sources, { recursive: true });
    await writeFile(join(sources, 'musilingo-sources.json'), JSON.stringify({ sources: fixtureDirs }));
    upsertModelPack(db, { modelId: 'late', variant: 'float32', state: 'downloaded', sourcePath: sources });
    await mkdir(join(dir, 'models', 'tokenizers', 'late'), { recursive: true });
    await writeFile(join(dir, 'models', 'tokenizers', 'late', 'tokenizer.model'), unigramTokenizerModel());
    await expect(convertModel(ctx, 'late', 'float32', { smokeExecutionProviders: ['cpu'] })).rejects.toThrow(/UNIGRAM/);
    expect(getModelPack(db, 'late@float32')?.state).toBe('failed');
  });
});

describe('the demo model', () => {
  it('ships with the source tree', () => {
    expect(existsSync(join(demoAssetsDir(), 'tiny-llama', 'model.safetensors'))).toBe(true);
  });

  it("writes LLaMA's real tokenizer, which fits the tiny decoder's 32,000 rows", async () => {
    const tok = join(dir, 'llama-tok');
    await writeLlamaTokenizer(tok);
    const check = await checkTokenizer(tok);
    expect(check.vocabSize).toBe(32000);
    const t = await loadLlamaTokenizer(tok);
    // LLaMA ids of a known sentence (as llama-tokenizer-js and SentencePiece give them).
    expect(t.encode('Hello world')).toEqual([15043, 3186]);
  });

  it('installs as the ready pack demo@float32 through import and convert, offline', async () => {
    const ctx = { db, modelsDir: join(dir, 'demo-models') };
    const row = await installDemoModel(ctx);
    expect(row).toMatchObject({ id: `${DEMO_MODEL_ID}@float32`, state: 'ready' });
    const manifest = await readPackManifest(row.path ?? '');
    expect(manifest.modelId).toBe('demo');
    expect(manifest.tokenizer?.model).toBe('tokenizer.model');
    expect(manifest.decoder.config['vocabSize'] ?? manifest.decoder.config['vocab_size']).toBe(32000);
  });
});
