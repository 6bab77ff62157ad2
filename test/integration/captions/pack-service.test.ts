/**
 * @file The inference service on a real tiny pack (converted from the golden fixtures): captions are
 * deterministic and decoded from the pack's tokenizer; a GPU session that cannot be created falls back to the
 * CPU; a corrupt file fails alone; a missing pack is reported.
 */
import { cp, mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceService } from '../../../model/inference/service';
import { loadModelPack } from '../../../model/inference/pack';
import type { CallContext } from '../../../model/inference/protocol';
import { buildTinyPack } from './tiny-pack';
import { makeAudio, makeCorrupt } from './helpers';

let work: string;
let pack: string;
let files: Record<string, string>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ml-pack-svc-'));
  pack = join(work, 'pack');
  await buildTinyPack(work, pack);
  files = {
    a: makeAudio(work, 'a.wav', 4, ['sine', '440']),
    b: makeAudio(work, 'b.flac', 3, ['whitenoise']),
    bad: makeCorrupt(work, 'bad.wav'),
  };
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function ctx(events: [string, unknown][] = []): CallContext {
  return { signal: new AbortController().signal, emit: (e, d) => events.push([e, d]) };
}

describe('inference service on the tiny pack', () => {
  it('captions tracks in one batch, deterministically, with streamed tokens', async () => {
    const svc = createInferenceService({ loadPack: (req) => loadModelPack(req) });
    const info = await svc.load({ packDir: pack, executionProvider: 'cpu' }, ctx());
    expect(info).toMatchObject({ modelId: 'tiny@float32', encoderId: 'mert-64x3', hiddenSize: 64, executionProvider: 'cpu' });
    const events: [string, unknown][] = [];
    const items = [
      { key: 'a', path: files['a']!, window: { kind: 'default' } as const },
      { key: 'b', path: files['b']!, window: { kind: 'default' } as const },
      { key: 'bad', path: files['bad']!, window: { kind: 'default' } as const },
    ];
    const first = await svc.caption({ items, generation: { maxNewTokens: 24 } }, ctx(events));
    expect(first.map((r) => r.ok)).toEqual([true, true, false]);
    const bad = first[2]!;
    expect(!bad.ok && bad.error.message).toContain('bad.wav');
    const a = first[0]!;
    if (!a.ok) throw new Error('unreachable');
    const w = a.value[0]!;
    expect(w.startMs).toBe(0);
    expect(w.lengthMs).toBe(4000);
    expect(w.embedding).toMatchObject({ rows: 1, dim: 64 }); // 4 s → 299 frames → one 325-frame pool
    expect(w.tokens).toBe(24); // tiny random weights never emit a stop token
    expect(w.text.length).toBeGreaterThan(0);
    const tokenEvents = events.filter(([e]) => e === 'token').map(([, d]) => d as { key: string; text: string });
    expect(tokenEvents.length).toBeGreaterThanOrEqual(2); // first token at once, then throttled
    const lastOfA = tokenEvents.filter((t) => t.key === 'a').at(-1)!;
    expect(w.text.startsWith(lastOfA.text.trim())).toBe(true); // the stream is a prefix of the stored caption
    // Same audio, same prompt, greedy: same caption, whether batched or alone.
    const again = await svc.caption({ items: [items[0]!], generation: { maxNewTokens: 24 } }, ctx());
    expect(again[0]!.ok && again[0]!.value[0]!.text).toBe(w.text);
    const answer = await svc.ask({ item: items[0]!, question: 'What instruments are there?', history: [{ question: 'Mood?', answer: w.text }], generation: { maxNewTokens: 8 } }, ctx());
    expect(answer.turnsKept).toBe(1);
    expect(answer.tokens).toBe(8);
    await svc.unload({}, ctx());
  });

  it('falls back to the CPU when the GPU session cannot be created', async () => {
    const tried: string[] = [];
    const svc = createInferenceService({
      loadPack: (req) =>
        loadModelPack(req, {
          createSession: async (path, o) => {
            const eps = JSON.stringify(o.executionProviders);
            tried.push(eps);
            if (eps.includes('webgpu')) throw new Error('no WebGPU adapter (simulated)');
            return ort.InferenceSession.create(path, o);
          },
        }),
    });
    const info = await svc.load({ packDir: pack, executionProvider: 'webgpu' }, ctx());
    expect(info.executionProvider).toBe('cpu');
    expect(info.fallbackReason).toMatch(/webgpu failed: .*no WebGPU adapter/);
    expect(tried[0]).toContain('webgpu');
    const r = await svc.caption({ items: [{ key: 'a', path: files['a']!, window: { kind: 'default' } }], generation: { maxNewTokens: 4 } }, ctx());
    expect(r[0]!.ok).toBe(true);
    await svc.unload({}, ctx());
  });

  it('refuses a damaged pack, naming the file', async () => {
    const copy = join(work, 'damaged');
    await cp(pack, copy, { recursive: true });
    await truncate(join(copy, 'embed.safetensors'), 1000);
    const svc = createInferenceService({ loadPack: (req) => loadModelPack(req) });
    const err = await svc.load({ packDir: copy, executionProvider: 'cpu' }, ctx()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'model-unavailable' });
    expect((err as Error).message).toMatch(/damaged: embed\.safetensors is 1000 bytes/);
  });

  it('reports a missing pack as model-unavailable', async () => {
    const svc = createInferenceService({ loadPack: (req) => loadModelPack(req) });
    await expect(svc.load({ packDir: join(work, 'nope'), executionProvider: 'cpu' }, ctx())).rejects.toMatchObject({ code: 'model-unavailable', message: expect.stringContaining('no manifest.json') });
  });
});

// Mutation guard: a pack whose manifest says 320 instead of 325 pool frames would still pass the 4-second tests
// above (one pool either way). A 30-second window has 2249 MERT frames: 7 pools of 325, but 8 of 320.
describe("the pack's pool window", () => {
  it('is the paper\'s 325 frames, and inference pools by the manifest\'s value', async () => {
    const { readPackManifest } = await import('../../../main/models/pack');
    const manifest = await readPackManifest(pack);
    expect(manifest.encoder.poolFrames).toBe(325);
    const loaded = await loadModelPack({ packDir: pack, executionProvider: 'cpu' });
    try {
      const pcm = Float32Array.from({ length: 30 * manifest.encoder.sampleRateHz }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / manifest.encoder.sampleRateHz));
      const audio = await loadedEncode(loaded, pcm);
      expect(audio.rows).toBe(Math.ceil(2249 / 325));
      // The same pack with the manifest's value changed pools differently: the value is read, not assumed.
      const copy = join(work, 'pack-320');
      await cp(pack, copy, { recursive: true });
      const { writeFile, readFile } = await import('node:fs/promises');
      const m = JSON.parse(await readFile(join(copy, 'manifest.json'), 'utf8')) as { encoder: { poolFrames: number } };
      m.encoder.poolFrames = 320;
      await writeFile(join(copy, 'manifest.json'), JSON.stringify(m));
      const other = await loadModelPack({ packDir: copy, executionProvider: 'cpu' });
      try {
        expect((await loadedEncode(other, pcm)).rows).toBe(Math.ceil(2249 / 320));
      } finally {
        await other.dispose();
      }
    } finally {
      await loaded.dispose();
    }
  });
});

async function loadedEncode(p: Awaited<ReturnType<typeof loadModelPack>>, pcm: Float32Array): Promise<{ rows: number }> {
  return p.encodeAudio(pcm);
}
