/**
 * @file The caption pipeline without ONNX models: job runner + inference service (over the structured-clone
 * RPC) + SQLite storage, on real audio files made with sox. A deterministic stand-in pack replaces the
 * model; test/integration/captions/e2e.test.ts runs the real tiny pack.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captionsForTrack, countCaptions } from '../../../main/db/captions';
import { cancelJob, childJobs, getJob, groupCounts, pauseJob, resumeJob } from '../../../main/db/jobs';
import { openDatabase } from '../../../main/db/open';
import { qaThread } from '../../../main/db/qa';
import { similarTracks } from '../../../main/db/windows';
import { enqueueAsk, enqueueCaption, enqueueGroup } from '../../../main/jobs/kinds';
import { createJobRunner, type JobRunner, type RunnerEvent } from '../../../main/jobs/runner';
import { connectLocalInference, type InferenceConnection } from '../../../model/inference/client';
import { fakePackLoader, insertTrack, makeAudio, makeCorrupt, type FakePackOptions } from './helpers';

let audioDir: string;
const files: Record<string, string> = {};

beforeAll(() => {
  audioDir = mkdtempSync(join(tmpdir(), 'musilingo-audio-'));
  files['sineA'] = makeAudio(audioDir, 'sine-a.wav', 4, ['sine', '440']);
  files['sineB'] = makeAudio(audioDir, 'sine-b.flac', 5, ['sine', '445']);
  files['noise'] = makeAudio(audioDir, 'noise.wav', 3, ['whitenoise'], 48000);
  files['square'] = makeAudio(audioDir, 'square.wav', 3, ['square', '2000'], 22050);
  files['corrupt'] = makeCorrupt(audioDir, 'corrupt.wav');
  files['vanished'] = join(audioDir, 'vanished.wav');
});
afterAll(() => rmSync(audioDir, { recursive: true, force: true }));

/** A fresh copy of a generated file (track paths are unique). */
function copyOf(key: string, i: number): string {
  const dest = join(dir, `${i}-${key}.wav`);
  copyFileSync(files[key]!, dest);
  return dest;
}

let dir: string;
let db: Database.Database;
let conn: InferenceConnection;
let runner: JobRunner;
let events: RunnerEvent[];

function setup(packOpts: FakePackOptions = {}, resolveFails = false, maxBatch = 3): void {
  conn = connectLocalInference({ loadPack: fakePackLoader(packOpts), maxBatch: 4 });
  events = [];
  runner = createJobRunner({
    db,
    client: () => conn.client,
    resolvePack: (model) => {
      if (resolveFails) throw new Error(`Model pack "${model}" is not installed. Install it with \`musilingo models\`.`);
      return { packDir: `/packs/${model}`, executionProvider: 'auto' };
    },
    maxBatch,
    pollMs: 20,
    heartbeatMs: 50,
    retryDelayMs: () => 10,
    onEvent: (e) => events.push(e),
  });
  runner.start();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'musilingo-runner-'));
  db = openDatabase(join(dir, 'lib.sqlite'));
});
afterEach(async () => {
  await runner?.stop();
  await conn?.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function ftsIds(query: string): number[] {
  return (db.prepare('SELECT rowid AS id FROM tracks_fts WHERE tracks_fts MATCH ? ORDER BY rowid').all(query) as { id: number }[]).map((r) => r.id);
}

describe('caption pipeline (stand-in model)', () => {
  it('captions the whole library, keeps per-track errors, makes captions searchable and finds similar tracks', async () => {
    const ids = ['sineA', 'sineB', 'noise', 'square', 'corrupt', 'vanished'].map((k) => insertTrack(db, files[k]!, { title: k }));
    setup();
    const group = enqueueGroup(db, { kind: 'caption-all', model: 'tiny' }).id;
    runner.wake();
    const finished = await runner.waitFor(group);
    expect(finished.state).toBe('done');
    expect(groupCounts(db, group)).toMatchObject({ total: 6, done: 4, failed: 2 });
    expect(countCaptions(db, 'fake-pack')).toEqual({ captions: 4, tracks: 4 });
    const failed = childJobs(db, group).filter((j) => j.state === 'failed');
    expect(failed.map((j) => j.error).join('\n')).toContain('corrupt.wav');
    expect(failed.map((j) => j.error).join('\n')).toContain('vanished.wav');
    expect(failed.every((j) => j.attempts === 1)).toBe(true); // bad input is not retried

    // Search sees every caption as soon as it is stored (0010's triggers).
    for (const id of ids.slice(0, 4)) {
      const [c] = captionsForTrack(db, id);
      expect(c?.text.split(' ')).toHaveLength(5);
      const word = c!.text.split(' ')[0]!;
      expect(ftsIds(`caption:${word}`)).toContain(id);
    }
    expect(events.some((e) => e.type === 'token')).toBe(true);
    expect(events.filter((e) => e.type === 'caption')).toHaveLength(4);

    // The two sines are each other's nearest neighbours; noise is farther from sine A than sine B is.
    const sim = similarTracks(db, ids[0]!, { limit: 3 });
    expect(sim[0]?.trackId).toBe(ids[1]);
    expect(sim.map((s) => s.trackId)).not.toContain(ids[0]);

    // Running caption-all again finds nothing to do: no duplicate captions.
    const again = enqueueGroup(db, { kind: 'caption-all', model: 'tiny' }).id;
    runner.wake();
    await runner.waitFor(again);
    expect(groupCounts(db, again).total).toBe(2); // only the two failed tracks are tried again
    expect(countCaptions(db, 'fake-pack')).toEqual({ captions: 4, tracks: 4 });
  });

  it('is deterministic: the same audio gets the same caption', async () => {
    const a = insertTrack(db, files['sineA']!);
    setup();
    const j1 = enqueueCaption(db, { trackId: a, model: 'tiny' }).id;
    runner.wake();
    await runner.waitFor(j1);
    const first = captionsForTrack(db, a)[0]!.text;
    const j2 = enqueueCaption(db, { trackId: a, model: 'tiny' }).id;
    runner.wake();
    await runner.waitFor(j2);
    expect(captionsForTrack(db, a).map((c) => c.text)).toEqual([first]); // replaced, not duplicated
  });

  it('answers questions in threads, with the earlier turns in the prompt', async () => {
    const a = insertTrack(db, files['sineA']!);
    const calls: FakePackOptions['calls'] = [];
    setup({ calls });
    const q1 = enqueueAsk(db, { trackId: a, question: 'What instruments?', model: 'tiny' });
    runner.wake();
    expect((await runner.waitFor(q1.jobId)).state).toBe('done');
    const q2 = enqueueAsk(db, { trackId: a, question: 'Is it good for running?', threadId: q1.threadId, model: 'tiny' });
    runner.wake();
    const j2 = await runner.waitFor(q2.jobId);
    expect(j2.result).toMatchObject({ turnsKept: 1 });
    const thread = qaThread(db, a, q1.threadId);
    expect(thread.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(thread[1]?.text.length).toBeGreaterThan(0);
    // The second prompt is longer by the first turn's question and answer.
    expect(calls[1]!.promptRows[0]!).toBeGreaterThan(calls[0]!.promptRows[0]! + 3);
    expect(events.some((e) => e.type === 'answer' && e.messageId === thread[3]?.id)).toBe(true);
  });

  it('answers a question asked during caption-all before the remaining background captions', async () => {
    for (let i = 0; i < 8; i++) insertTrack(db, copyOf(i % 2 ? 'sineA' : 'noise', i));
    setup({ tokenDelayMs: 5 });
    const group = enqueueGroup(db, { kind: 'caption-all', model: 'tiny' }).id;
    runner.wake();
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (events.some((e) => e.type === 'token')) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
    const ask = enqueueAsk(db, { trackId: 1, question: 'What genre is it?', model: 'tiny' });
    runner.wake();
    const answered = await runner.waitFor(ask.jobId);
    expect(answered.state).toBe('done');
    await runner.waitFor(group);
    const children = childJobs(db, group);
    const after = children.filter((c) => (c.finishedAt ?? 0) > (answered.finishedAt ?? 0));
    expect(after.length).toBeGreaterThan(0); // the question did not wait for the whole library
    expect(countCaptions(db, 'fake-pack').tracks).toBe(8);
  });

  it('falls back to the CPU when the GPU session cannot be created, and retries a run that failed', async () => {
    const a = insertTrack(db, files['sineA']!);
    const b = insertTrack(db, files['noise']!);
    // Three failures: the batch of two, then each prompt run alone (the service isolates a failed batch), so
    // the call fails and the runner retries it.
    setup({ failLoadOn: ['auto'], failGenerateTimes: 3 });
    const j1 = enqueueCaption(db, { trackId: a, model: 'tiny' }).id;
    const j2 = enqueueCaption(db, { trackId: b, model: 'tiny' }).id;
    runner.wake();
    const [r1, r2] = await Promise.all([runner.waitFor(j1), runner.waitFor(j2)]);
    expect(r1.state).toBe('done');
    expect(r2.state).toBe('done');
    expect(r1.attempts).toBe(2); // the first run hit the simulated device loss
    const model = events.find((e) => e.type === 'model');
    expect(model?.type === 'model' && model.info.executionProvider).toBe('cpu');
    expect(model?.type === 'model' && model.info.fallbackReason).toMatch(/no adapter found/);
  });

  it('moves to the CPU when the GPU keeps failing while running', async () => {
    const a = insertTrack(db, files['sineA']!);
    const runEps: string[] = [];
    setup({ failRunOn: ['webgpu'], runEps });
    const j = enqueueCaption(db, { trackId: a, model: 'tiny' }).id;
    runner.wake();
    const done = await runner.waitFor(j);
    expect(done, JSON.stringify(done)).toMatchObject({ state: 'done', attempts: 2 });
    expect(runEps).toEqual(['webgpu', 'cpu']);
    expect(captionsForTrack(db, a)).toHaveLength(1);
  });

  it('reports a missing model on the job and keeps the queue going', async () => {
    const a = insertTrack(db, files['sineA']!);
    setup({}, true);
    const j = enqueueCaption(db, { trackId: a, model: 'nope' }).id;
    const g = enqueueGroup(db, { kind: 'caption-all', model: 'nope' }).id;
    runner.wake();
    const [rj, rg] = await Promise.all([runner.waitFor(j), runner.waitFor(g)]);
    expect(rj).toMatchObject({ state: 'failed', attempts: 1 });
    expect(rj.error).toMatch(/Model pack "nope" is not installed/);
    expect(rg.state).toBe('failed');
  });

  it('pauses and resumes a library run; a waiter hears about the pause', async () => {
    for (let i = 0; i < 6; i++) insertTrack(db, copyOf(i % 2 ? 'sineA' : 'noise', i));
    setup({ tokenDelayMs: 5 }, false, 1); // one track per call: at most one in flight when the pause lands
    const group = enqueueGroup(db, { kind: 'caption-all', model: 'tiny' }).id;
    runner.wake();
    while (!events.some((e) => e.type === 'caption')) await new Promise((r) => setTimeout(r, 5));
    expect(pauseJob(db, group)).toBe(true);
    const paused = await runner.waitFor(group, undefined, { orPaused: true });
    expect(paused.state).toBe('paused');
    await new Promise((r) => setTimeout(r, 150)); // the batch in flight finishes; nothing new starts
    const c = groupCounts(db, group);
    expect(c.paused).toBeGreaterThan(0);
    expect(c.running).toBe(0);
    const stored = countCaptions(db, 'fake-pack').captions;
    expect(stored).toBe(c.done);
    expect(resumeJob(db, group)).toBe(true);
    runner.wake();
    expect((await runner.waitFor(group)).state).toBe('done');
    expect(countCaptions(db, 'fake-pack')).toEqual({ captions: 6, tracks: 6 });
  });

  it('takes over the work of a process that died while it runs', async () => {
    const a = insertTrack(db, files['sineA']!);
    setup();
    // Another process claimed this job and died (its pid does not exist).
    const id = enqueueCaption(db, { trackId: a, model: 'tiny' }).id;
    db.prepare("UPDATE jobs SET state = 'running', owner = ?, heartbeat_at = ?, attempts = 1 WHERE id = ?").run(`${hostname()}:999999999:1`, Date.now(), id);
    const done = await runner.waitFor(id);
    expect(done).toMatchObject({ state: 'done', attempts: 2 });
    expect(captionsForTrack(db, a)).toHaveLength(1);
  });

  it('cancels a running caption: the work stops and nothing is stored', async () => {
    const a = insertTrack(db, files['sineA']!);
    setup({ tokenDelayMs: 100 });
    const j = enqueueCaption(db, { trackId: a, model: 'tiny' }).id;
    runner.wake();
    while (getJob(db, j)?.state !== 'running') await new Promise((r) => setTimeout(r, 5));
    cancelJob(db, j);
    const done = await runner.waitFor(j);
    expect(done.state).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 200));
    expect(captionsForTrack(db, a)).toEqual([]);
  });

  it('recovers when the inference worker dies mid-batch: jobs are retried, none lost or duplicated', async () => {
    const ids = [0, 1, 2, 3, 4].map((i) => insertTrack(db, copyOf(i % 2 ? 'sineA' : 'square', i)));
    setup({ tokenDelayMs: 3 });
    const group = enqueueGroup(db, { kind: 'caption-all', model: 'tiny' }).id;
    runner.wake();
    while (!events.some((e) => e.type === 'token')) await new Promise((r) => setTimeout(r, 5));
    const old = conn;
    // The worker "crashes": pending calls fail with worker-exited, a new worker takes over.
    conn = connectLocalInference({ loadPack: fakePackLoader({}), maxBatch: 4 });
    await old.close();
    const done = await runner.waitFor(group);
    expect(done.state).toBe('done');
    expect(groupCounts(db, group)).toMatchObject({ total: 5, done: 5 });
    expect(countCaptions(db, 'fake-pack')).toEqual({ captions: 5, tracks: 5 });
    expect(childJobs(db, group).some((j) => j.attempts === 2)).toBe(true);
    for (const id of ids) expect(captionsForTrack(db, id)).toHaveLength(1);
  });
});
