/**
 * @file The training loop on a learnable synthetic task: the loss falls; a run interrupted and resumed
 * (in-process, and a child process killed with SIGKILL) ends with exactly the adapter of an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { createReferenceEngine } from '../../../trainer/engine';
import { readTrainingCheckpoint } from '../../../trainer/run/checkpoint';
import { runTraining, type TrainProgress } from '../../../trainer/run/train-loop';
import { makeSyntheticTask } from './synthetic';

const tmp = mkdtempSync(join(tmpdir(), 'musilingo-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('runTraining', () => {
  it('lowers the training and held-out loss on a learnable task', async () => {
    const task = await makeSyntheticTask(40, { evalEvery: 20 });
    const events: TrainProgress[] = [];
    try {
      const res = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: join(tmp, 'learn.safetensors'), onProgress: (p) => void events.push(p) });
      const losses = events.flatMap((e) => (e.kind === 'step' ? [e.loss] : []));
      expect(losses.length).toBe(40);
      const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
      // A frozen random decoder bounds what an adapter can do (about −13 % here); a broken gradient does not fall.
      expect(mean(losses.slice(-5))).toBeLessThan(0.92 * mean(losses.slice(0, 5)));
      expect(res.initialHeldOutLoss).toBeDefined();
      expect(res.heldOutLoss!).toBeLessThan(0.95 * res.initialHeldOutLoss!);
      expect(events.filter((e) => e.kind === 'eval').length).toBe(3); // start, step 20, end
      expect(events.some((e) => e.kind === 'step' && e.lr > 1e-2)).toBe(true);
    } finally {
      await task.engine.release();
    }
  });

  it('resumes from a checkpoint to exactly the adapter of an uninterrupted run', async () => {
    const task = await makeSyntheticTask(6);
    try {
      const full = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: join(tmp, 'full.safetensors') });
      const path = join(tmp, 'halted.safetensors');
      const halted = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: path, haltAfterStep: 5 });
      expect(halted.halted).toBe(true);
      expect((await readTrainingCheckpoint(path)).step).toBe(4); // step 5 was lost with the "crash"
      const resumed = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: path, resume: true });
      expect(resumed.step).toBe(6);
      expect(Array.from(resumed.adapter.weight)).toEqual(Array.from(full.adapter.weight));
      expect(Array.from(resumed.adapter.bias)).toEqual(Array.from(full.adapter.bias));
    } finally {
      await task.engine.release();
    }
  });

  it('trains in padded batches exactly as the reference engine does', async () => {
    const task = await makeSyntheticTask(2, { batchSize: 3, accumulation: 2, evalEvery: 100 });
    try {
      const ours = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: join(tmp, 'batch-ort.safetensors') });
      const ref = await runTraining({ ...task, engine: createReferenceEngine(task.weights), initialAdapter: task.adapter, checkpointPath: join(tmp, 'batch-ref.safetensors') });
      const moved = task.adapter.weight.map((v, i) => Math.abs(v - ref.adapter.weight[i]!)).reduce((a, b) => Math.max(a, b), 0);
      const diff = ours.adapter.weight.map((v, i) => Math.abs(v - ref.adapter.weight[i]!)).reduce((a, b) => Math.max(a, b), 0);
      expect(moved).toBeGreaterThan(1e-3);
      expect(diff).toBeLessThan(1e-3 * moved);
    } finally {
      await task.engine.release();
    }
  });

  it('cancels with a checkpoint that a later run resumes', async () => {
    const task = await makeSyntheticTask(6);
    try {
      const ac = new AbortController();
      const path = join(tmp, 'cancel.safetensors');
      const res = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: path, signal: ac.signal, onProgress: (p) => { if (p.kind === 'step' && p.step === 3) ac.abort(); } });
      expect(res.cancelled).toBe(true);
      expect(res.step).toBe(3);
      expect((await readTrainingCheckpoint(path)).step).toBe(3);
      const done = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: path, resume: true });
      expect(done.step).toBe(6);
    } finally {
      await task.engine.release();
    }
  });

  it('survives kill -9 of the training process and resumes to the same adapter', async () => {
    const out = join(import.meta.dirname, '../../../out/test/trainer-kill-child.mjs');
    await build({ entryPoints: [join(import.meta.dirname, 'kill-child.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: out, logLevel: 'error' });
    const path = join(tmp, 'killed.safetensors');
    const steps = 8;
    const child = spawn(process.execPath, [out, path, String(steps)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let log = '';
    const killedAt = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /checkpoint (\d+)/.exec(log);
        if (m && !child.killed) {
          child.kill('SIGKILL');
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before a checkpoint: ${log}`)));
    });
    await new Promise((r) => child.once('close', r));
    expect(child.signalCode).toBe('SIGKILL');
    expect(log).not.toMatch(/done/);
    expect(existsSync(path)).toBe(true);
    expect((await readTrainingCheckpoint(path)).step).toBeGreaterThanOrEqual(killedAt);
    const task = await makeSyntheticTask(steps);
    try {
      const resumed = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: path, resume: true });
      const full = await runTraining({ ...task, initialAdapter: task.adapter, checkpointPath: join(tmp, 'unkilled.safetensors') });
      expect(resumed.step).toBe(steps);
      expect(Array.from(resumed.adapter.weight)).toEqual(Array.from(full.adapter.weight));
      expect(Array.from(resumed.adapter.bias)).toEqual(Array.from(full.adapter.bias));
    } finally {
      await task.engine.release();
    }
  });
});
