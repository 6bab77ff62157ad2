/**
 * @file Builds a tiny model pack for caption tests with the real converter (main/models/convert.ts) from the
 * golden fixtures (tiny-mert + tiny-llama + tiny-musilingo's adapter, as a MusiLingo-like sharded checkpoint)
 * and a tokenizer.model with LLaMA's real 32,000-piece vocabulary (from llama-tokenizer-js, as the tokenizer
 * tests build it), so generated ids decode to real sub-words.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertCheckpoint } from '../../../main/models/convert';
import { writeLlamaTokenizer } from '../../../main/models/demo';
import { readLlamaConfig } from '../../../model/llama/config';
import { readMertConfig } from '../../../model/mert/config';
import { musilingoRepoFiles } from '../../support/models/tiny-repo';

// The demo model's tokenizer writer (LLaMA's vocabulary from llama-tokenizer-js) serves the tests too.
export { writeLlamaTokenizer };

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
