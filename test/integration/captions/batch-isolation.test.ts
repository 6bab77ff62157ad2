/**
 * @file One bad item never fails its batch neighbours: a 27-sample AIFF gets its own 'too-short' error (not a raw
 * ONNX shape error) while the other tracks of the call are captioned, on the real tiny pack; digital silence
 * gets 'silent'; an encoder or decoder failure on one item's input is isolated (its batch is run again one by
 * one), while a failure of every item still fails the call so the runner retries it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelPack } from '../../../model/inference/pack';
import type { CallContext } from '../../../model/inference/protocol';
import { createInferenceService } from '../../../model/inference/service';
import type { InferencePack, LoadRequest } from '../../../model/inference/types';
import { fakePackLoader, makeAudio } from './helpers';
import { buildTinyPack } from './tiny-pack';

let work: string;
let pack: string;
let files: Record<string, string>;

function ctx(): CallContext {
  return { signal: new AbortController().signal, emit: () => undefined };
}

const item = (key: string) => ({ key, path: files[key]!, window: { kind: 'default' } as const });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ml-isolate-'));
  pack = join(work, 'pack');
  await buildTinyPack(work, pack);
  const short = join(work, 'short.aiff');
  execFileSync('sox', ['-n', '-r', '44100', '-c', '1', '-b', '16', short, 'synth', '27s', 'sine', '440'], { stdio: 'ignore' });
  const silent = join(work, 'silent.wav');
  execFileSync('sox', ['-n', '-r', '44100', '-c', '1', '-b', '16', silent, 'trim', '0', '2'], { stdio: 'ignore' });
  files = {
    a: makeAudio(work, 'a.wav', 4, ['sine', '440']),
    short,
    b: makeAudio(work, 'b.flac', 3, ['whitenoise']),
    silent,
    badEncode: makeAudio(work, 'bad-encode.wav', 3.5, ['sine', '220']),
    badDecode: makeAudio(work, 'bad-decode.wav', 5, ['sine', '330']),
  };
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a failing item never fails its batch neighbours', () => {
  it('a 27-sample AIFF is "too short to caption" on the real tiny pack; its neighbours are captioned', async () => {
    const svc = createInferenceService({ loadPack: (req) => loadModelPack(req) });
    await svc.load({ packDir: pack, executionProvider: 'cpu' }, ctx());
    const out = await svc.caption({ items: [item('a'), item('short'), item('b'), item('silent')], generation: { maxNewTokens: 8 } }, ctx());
    expect(out.map((r) => r.ok)).toEqual([true, false, true, false]);
    const short = out[1]!;
    if (short.ok) throw new Error('unreachable');
    expect(short.error.code).toBe('too-short');
    expect(short.error.message).toBe(`${files['short']} is too short to caption (1 ms; needs at least 17 ms)`);
    const silent = out[3]!;
    expect(!silent.ok && silent.error).toMatchObject({ code: 'silent', message: expect.stringContaining(`${files['silent']} is silent`) });
    await svc.unload({}, ctx());
  }, 60_000);

  it('an encoder or decoder failure on one item fails that item only; when every item fails, the call fails', async () => {
    const SR = 24_000;
    const calls: number[] = [];
    // The stand-in pack fails on two inputs the way ONNX Runtime does on a bad shape: encoding the 3.5 s file,
    // and decoding any batch that holds the prompt of the 5 s file (marked by a NaN embedding).
    const loadPack = async (req: LoadRequest): Promise<InferencePack> => {
      const p = await fakePackLoader()(req);
      return {
        ...p,
        encodeAudio: async (pcm, signal) => {
          if (pcm.length === 3.5 * SR) throw new Error("Non-zero status code returned while running Conv node. Name:'Conv_2'");
          const e = await p.encodeAudio(pcm, signal);
          return pcm.length === 5 * SR ? { ...e, data: e.data.map(() => Number.NaN) } : e;
        },
        generate: async (g) => {
          calls.push(g.prompts.length);
          if (g.prompts.some((x) => x.some(Number.isNaN))) throw new Error('MatMul: invalid values');
          return p.generate(g);
        },
      };
    };
    const svc = createInferenceService({ loadPack, maxBatch: 8 });
    await svc.load({ packDir: 'fake', executionProvider: 'cpu' }, ctx());
    const out = await svc.caption({ items: [item('a'), item('badEncode'), item('b'), item('badDecode')] }, ctx());
    expect(out.map((r) => [r.key, r.ok])).toEqual([['a', true], ['badEncode', false], ['b', true], ['badDecode', false]]);
    expect(out[1]!.ok === false && out[1]!.error.message).toContain('Conv_2');
    expect(out[3]!.ok === false && out[3]!.error.message).toContain('MatMul');
    expect(calls).toEqual([3, 1, 1, 1]); // the batch of three, then each prompt alone
    // The service still works (the session was not written off).
    const again = await svc.caption({ items: [item('b')] }, ctx());
    expect(again[0]!.ok).toBe(true);
    // Nothing encodes: the session is at fault, and the call fails as a whole (the runner retries it).
    await expect(svc.caption({ items: [item('badEncode')] }, ctx())).rejects.toMatchObject({ code: 'session-failed' });
  });
});
