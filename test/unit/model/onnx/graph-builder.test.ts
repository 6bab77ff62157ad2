/** @file Tests for the ONNX writer (model/onnx/graph-builder.ts), loaded by onnxruntime-node. */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, attrFloat } from '../../../../model/onnx/graph-builder';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** y = SimplifiedLayerNorm(x @ W + b) * 2 with W external, plus a Shape->Gather path for int64 constants. */
function build(g: GraphBuilder, w: Float32Array, b: Float32Array): void {
  g.input('x', 'float32', ['batch', 8]);
  const wName = g.initF32('w', w, [8, 300]);
  const bName = g.initF16('b16', b, [300]);
  const bf = g.op('Cast', [bName], { to: 1 });
  const mm = g.op('MatMul', ['x', wName]);
  const add = g.op('Add', [mm, bf]);
  const gamma = g.constF32(new Float32Array(300).fill(1), [300]);
  const [normed] = g.node('SimplifiedLayerNormalization', [add, gamma], 1, { axis: -1, epsilon: attrFloat(1e-6) });
  g.op('Mul', [normed!, g.constF32([2])], {}, { output: 'y' });
  const shape = g.op('Shape', ['x']);
  g.op('Gather', [shape, g.constI64([0], [])], { axis: 0 }, { output: 'n' });
  g.output('y', 'float32', ['batch', 300]);
  g.output('n', 'int64', []);
}

function inputs(): { w: Float32Array; b: Float32Array; x: Float32Array } {
  const w = Float32Array.from({ length: 8 * 300 }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: 300 }, (_, i) => (i % 7) / 8);
  const x = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i));
  return { w, b, x };
}

function reference(w: Float32Array, b: Float32Array, x: Float32Array): Float32Array {
  const out = new Float32Array(2 * 300);
  for (let r = 0; r < 2; r++) {
    let ss = 0;
    for (let j = 0; j < 300; j++) {
      let s = b[j]!;
      for (let k = 0; k < 8; k++) s += x[r * 8 + k]! * w[k * 300 + j]!;
      out[r * 300 + j] = s;
      ss += s * s;
    }
    const inv = 1 / Math.sqrt(ss / 300 + 1e-6);
    for (let j = 0; j < 300; j++) out[r * 300 + j] = out[r * 300 + j]! * inv * 2;
  }
  return out;
}

describe('GraphBuilder', () => {
  it('writes a model with external data that onnxruntime loads and runs', async () => {
    const { w, b, x } = inputs();
    const path = join(dir, 'streamed.onnx');
    const g = new GraphBuilder({ name: 'test', outPath: path, externalThresholdBytes: 1024 });
    build(g, w, b);
    await g.save();
    expect((await stat(`${path}.data`)).size).toBeGreaterThanOrEqual(8 * 300 * 4);
    expect((await stat(path)).size).toBeLessThan(4096);
    const s = await ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
    try {
      const out = await s.run({ x: new ort.Tensor('float32', x, [2, 8]) });
      const y = out.y!.data as Float32Array;
      const ref = reference(w, b, x);
      // b went through float16: compare with a tolerance that covers that rounding.
      for (let i = 0; i < ref.length; i++) expect(Math.abs(y[i]! - ref[i]!)).toBeLessThan(2e-3);
      expect(out.n!.data).toEqual(new BigInt64Array([2n]));
    } finally {
      await s.release();
    }
  });

  it('produces deterministic bytes, with or without streaming', async () => {
    const { w, b } = inputs();
    const g1 = new GraphBuilder({ name: 'test' });
    build(g1, w, b);
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await g1.save(join(dir, 'a', 'm.onnx'));
    const g2 = new GraphBuilder({ name: 'test', outPath: join(dir, 'b', 'm.onnx') });
    build(g2, w, b);
    await g2.save();
    const files = ['a/m.onnx', 'b/m.onnx', 'a/m.onnx.data', 'b/m.onnx.data'];
    const [m1, m2, d1, d2] = await Promise.all(files.map((f) => readFile(join(dir, f))));
    expect(d1!.equals(d2!)).toBe(true);
    expect(m1!.equals(m2!)).toBe(true);
  });

  it('keeps small models inline and rejects duplicate names and wrong sizes', async () => {
    const g = new GraphBuilder({ externalThresholdBytes: Infinity });
    g.input('a', 'float32', [2]);
    g.op('Relu', ['a'], {}, { output: 'r' });
    g.output('r', 'float32', [2]);
    expect(() => g.input('a', 'float32', [2])).toThrow(/Duplicate value name "a"/);
    expect(() => g.initF32('w', new Float32Array(3), [2])).toThrow(/"w": 12 bytes given but float32 \[2\] needs 8/);
    const p = join(dir, 'inline.onnx');
    await g.save(p);
    await expect(stat(`${p}.data`)).rejects.toThrow();
    const s = await ort.InferenceSession.create(p);
    const out = await s.run({ a: new ort.Tensor('float32', new Float32Array([-1, 3]), [2]) });
    expect([...(out.r!.data as Float32Array)]).toEqual([0, 3]);
    await s.release();
  });
});
