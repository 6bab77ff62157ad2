/** @file Execution-provider fallback (model/ort/session.ts) on a machine without CUDA libraries or a GPU. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../../model/onnx/graph-builder';
import { createSession, cudaProviderCheck, NoExecutionProviderError, presentOutputNames } from '../../../../model/ort/session';

let dir: string;
let model: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ort-session-'));
  model = join(dir, 'relu.onnx');
  const g = new GraphBuilder();
  g.input('x', 'float32', [2]);
  g.op('Relu', ['x'], {}, { output: 'y' });
  g.output('y', 'float32', [2]);
  await g.save(model);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createSession', () => {
  it('skips CUDA without its libraries, tries WebGPU, and says which EP runs and why', async () => {
    const lines: string[] = [];
    const empty = join(dir, 'binding');
    const r = await createSession(model, { log: (l) => lines.push(l), bindingDir: dir, gpuOutputNames: ['y'] });
    expect(r.skipped[0]).toMatchObject({ ep: 'cuda' });
    expect(r.skipped[0]!.reason).toMatch(/libonnxruntime_providers_cuda\.so is not installed|onnxruntime_providers_cuda\.dll|no CUDA build/);
    // This machine has no GPU adapter: WebGPU fails and CPU runs. A machine with one runs WebGPU.
    if (r.ep === 'cpu') expect(r.skipped.map((s) => s.ep)).toEqual(['cuda', 'webgpu']);
    else expect(r.ep).toBe('webgpu');
    expect(lines.at(-1)).toMatch(new RegExp(`running on ${r.ep}`));
    expect(cudaProviderCheck(empty).ok).toBe(false);
    await r.session.release();
  });

  it('fails with every reason when no EP can open the file', async () => {
    const bad = join(dir, 'bad.onnx');
    await writeFile(bad, 'not a model');
    const err = await createSession(bad, { providers: ['cpu'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoExecutionProviderError);
    expect((err as Error).message).toMatch(/Cannot open .*bad\.onnx on any execution provider: cpu: /);
    await expect(createSession(model, { providers: ['tpu' as never] })).rejects.toThrow(/Expected one of: cuda, webgpu, cpu/);
    expect(presentOutputNames(2)).toEqual(['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
  });
});
