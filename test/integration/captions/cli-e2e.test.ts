/**
 * @file The whole feature as a user runs it, on a tiny pack built by the converter from the fixtures and a
 * library of real audio files (sox/ffmpeg): scan → caption --all → search finds tracks by words of their
 * captions → ask (threads) → similar. Then crash safety: the CLI is SIGKILLed mid-run and resumed (no lost,
 * no duplicated captions); the inference worker thread is terminated mid-batch; a question runs while
 * caption --all runs in another process; a missing model is reported.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countCaptions } from '../../../main/db/captions';
import { childJobs, getJob, groupCounts, listJobs } from '../../../main/db/jobs';
import { openDatabase } from '../../../main/db/open';
import { enqueueGroup } from '../../../main/jobs/kinds';
import { createJobRunner } from '../../../main/jobs/runner';
import { startInferenceThread } from '../../../model/inference/client';
import { buildTinyPack } from './tiny-pack';
import { makeAudio, makeCorrupt } from './helpers';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const THREAD = join(ROOT, 'out', 'cli', 'inference.thread.mjs');

/** Each test spawns the CLI several times; on a loaded 2-core machine that can take minutes. */
const E2E_TIMEOUT_MS = 240_000;

let work: string;
let pack: string;
let source: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(db: string, args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, '--db', db, ...args], {
    env: { ...process.env, MUSILINGO_HOME: join(work, 'home'), MUSILINGO_THREADS: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

function cli(db: string, args: string[]): Promise<Run> {
  return start(db, args).done;
}

function json<T>(r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

/** A library folder of `n` real audio files in several formats (copies of a few generated ones). */
function library(name: string, n: number): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const kinds = ['sine440.wav', 'sine445.flac', 'noise.mp3', 'square.ogg', 'chirp.m4a'];
  for (let i = 0; i < n; i++) {
    const k = kinds[i % kinds.length]!;
    copyFileSync(join(source, k), join(dir, `${String(i).padStart(2, '0')}-${k}`));
  }
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ml-caption-e2e-'));
  pack = join(work, 'pack');
  await buildTinyPack(work, pack);
  source = join(work, 'src');
  mkdirSync(source);
  makeAudio(source, 'sine440.wav', 4, ['sine', '440']);
  makeAudio(source, 'sine445.flac', 5, ['sine', '445']);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'anoisesrc=d=3:c=pink:r=44100', '-ac', '2', '-c:a', 'libmp3lame', join(source, 'noise.mp3')]);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=2000:d=3:r=48000', '-c:a', 'libvorbis', join(source, 'square.ogg')]);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=600:d=3:r=22050', '-c:a', 'aac', join(source, 'chirp.m4a')]);
}, 180_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('musilingo caption / ask / similar / jobs', () => {
  it('captions a scanned library, and search, ask and similar work on the result', { timeout: E2E_TIMEOUT_MS }, async () => {
    const db = join(work, 'main.sqlite');
    const music = library('music', 5);
    makeCorrupt(music, 'zz-corrupt.wav');
    makeAudio(music, 'zz-vanishes.wav', 2, ['sine', '300']);
    expect((await cli(db, ['scan', music])).code).toBe(0);
    rmSync(join(music, 'zz-vanishes.wav')); // gone after the scan: its job must fail alone

    const run = await cli(db, ['caption', '--all', '--model', pack, '--json']);
    const summary = json<{ state: string; total: number; done: number; failed: number; failures: { error: string }[] }>(run);
    expect(summary).toMatchObject({ state: 'done', done: 5, failed: 1 });
    expect(summary.failures.map((f) => f.error).join('\n')).toContain('zz-vanishes.wav');

    const conn = new Database(db, { readonly: true });
    const captions = conn.prepare("SELECT track_id, text, model_id FROM captions WHERE source = 'model' ORDER BY track_id").all() as { track_id: number; text: string; model_id: string }[];
    conn.close();
    expect(captions).toHaveLength(5);
    expect(new Set(captions.map((c) => c.model_id))).toEqual(new Set(['tiny@float32']));
    // Five different recordings, five different captions…
    expect(new Set(captions.map((c) => c.text)).size).toBe(5);

    // …and search finds a track by a word of its caption.
    const c0 = captions[0]!;
    const word = c0.text.split(/[^\p{L}]+/u).filter((w) => w.length >= 4).sort((a, b) => b.length - a.length)[0];
    expect(word, c0.text).toBeDefined();
    const found = json<{ id: number }[] | { hits: { id: number }[] }>(await cli(db, ['search', word!, '--json']));
    const ids = Array.isArray(found) ? found.map((h) => h.id) : found.hits.map((h) => h.id);
    expect(ids).toContain(c0.track_id);

    // One track again, alone, twice: the same caption each time (greedy decoding is deterministic). Alone vs in
    // a batch of 4 the text may drift late in 300 tokens (left padding changes float sums; random tiny weights
    // have near-ties), but it starts the same.
    const one = json<{ captions: { text: string }[] }>(await cli(db, ['caption', String(c0.track_id), '--model', pack, '--force', '--json']));
    const two = json<{ captions: { text: string }[] }>(await cli(db, ['caption', String(c0.track_id), '--model', pack, '--force', '--json']));
    expect(two.captions[0]?.text).toBe(one.captions[0]?.text);
    expect(one.captions).toHaveLength(1); // replaced, not added
    expect(one.captions[0]?.text.slice(0, 20)).toBe(c0.text.slice(0, 20));

    const a1 = json<{ threadId: string; answer: string; turns: number }>(await cli(db, ['ask', String(c0.track_id), 'What instruments are playing?', '--model', pack, '--json']));
    expect(a1.turns).toBe(1);
    expect(typeof a1.answer).toBe('string');
    const a2 = json<{ threadId: string; turns: number }>(await cli(db, ['ask', String(c0.track_id), 'Is it good for running?', '--continue', '--model', pack, '--json']));
    expect(a2).toMatchObject({ threadId: a1.threadId, turns: 2 });

    const sim = json<{ trackId: number; score: number }[]>(await cli(db, ['similar', String(c0.track_id), '--json']));
    expect(sim).toHaveLength(4);
    expect(sim.map((s) => s.trackId)).not.toContain(c0.track_id);
    for (let i = 1; i < sim.length; i++) expect(sim[i]!.score).toBeLessThanOrEqual(sim[i - 1]!.score);

    const jobs = await cli(db, ['jobs', 'list', '--all']);
    expect(jobs.code).toBe(0);
    expect(jobs.stdout).toMatch(/caption-all\s+done/);
  });

  it('survives kill -9 of the whole process mid-run: resuming loses and duplicates nothing', { timeout: E2E_TIMEOUT_MS }, async () => {
    const db = join(work, 'kill.sqlite');
    const music = library('kill-music', 12);
    expect((await cli(db, ['scan', music])).code).toBe(0);
    const run = start(db, ['caption', '--all', '--model', pack, '--batch', '2', '--json']);
    const reader = new Database(db, { readonly: true, fileMustExist: true });
    const count = (): number => (reader.prepare('SELECT count(*) AS n FROM captions').get() as { n: number }).n;
    const deadline = Date.now() + 150_000;
    while (count() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    run.child.kill('SIGKILL');
    await run.done;
    const atKill = count();
    expect(atKill).toBeGreaterThanOrEqual(2);
    expect(atKill).toBeLessThan(12); // killed mid-run
    const left = reader.prepare("SELECT count(*) AS n FROM jobs WHERE kind = 'caption-one' AND state IN ('queued', 'running')").get() as { n: number };
    expect(left.n).toBe(12 - atKill); // every unfinished track still has its job (some claimed by the dead process)…
    reader.close();

    const resumed = json<{ state: string; total: number; done: number }>(await cli(db, ['caption', '--all', '--model', pack, '--json']));
    expect(resumed).toMatchObject({ state: 'done', total: 12, done: 12 }); // …and were taken back
    const conn = openDatabase(db);
    expect(countCaptions(conn, 'tiny@float32')).toEqual({ captions: 12, tracks: 12 });
    expect(listJobs(conn, { states: ['queued', 'running', 'paused'] })).toEqual([]);
    const group = listJobs(conn, { states: ['done'] }).find((j) => j.kind === 'caption-all')!;
    expect(childJobs(conn, group.id)).toHaveLength(12);
    conn.close();
  });

  it('recovers when the inference worker thread goes away mid-batch', { timeout: E2E_TIMEOUT_MS }, async () => {
    const dbPath = join(work, 'worker.sqlite');
    const music = library('worker-music', 6);
    expect((await cli(dbPath, ['scan', music])).code).toBe(0);
    const db = openDatabase(dbPath);
    let conn: ReturnType<typeof startInferenceThread> = startInferenceThread(THREAD, { threads: 1 });
    let tokens = 0;
    const runner = createJobRunner({
      db,
      client: () => conn.client,
      resolvePack: () => ({ packDir: pack, executionProvider: 'cpu' }),
      maxBatch: 3,
      pollMs: 20,
      retryDelayMs: () => 10,
      onEvent: (e) => {
        if (e.type === 'token') tokens++;
      },
    });
    runner.start();
    const group = enqueueGroup(db, { kind: 'caption-all', model: pack }).id;
    runner.wake();
    while (tokens < 5) await new Promise((r) => setTimeout(r, 10));
    // The thread goes away with a batch in flight. It is stopped, not killed: terminating a thread inside a
    // native ONNX Runtime call aborts the whole process (see [Note: Graceful stop of the inference thread]);
    // a killed process is the kill -9 test above.
    await conn.close();
    conn = startInferenceThread(THREAD, { threads: 1 });
    const done = await runner.waitFor(group);
    await runner.stop();
    await conn.close();
    expect(done.state).toBe('done');
    expect(groupCounts(db, group)).toMatchObject({ total: 6, done: 6 });
    expect(childJobs(db, group).some((j) => j.attempts === 2)).toBe(true);
    expect(countCaptions(db, 'tiny@float32')).toEqual({ captions: 6, tracks: 6 });
    db.close();
  });

  it('answers a question while caption --all runs in another process', { timeout: E2E_TIMEOUT_MS }, async () => {
    const db = join(work, 'concurrent.sqlite');
    const music = library('concurrent-music', 8);
    expect((await cli(db, ['scan', music])).code).toBe(0);
    const all = start(db, ['caption', '--all', '--model', pack, '--batch', '2', '--json']);
    const ask = json<{ answer: string; jobId: number }>(await cli(db, ['ask', '3', 'What genre is this?', '--model', pack, '--json']));
    const summary = json<{ state: string; done: number }>(await all.done);
    expect(summary).toMatchObject({ state: 'done', done: 8 });
    const conn = openDatabase(db);
    expect(getJob(conn, ask.jobId)?.state).toBe('done');
    expect(countCaptions(conn, 'tiny@float32')).toEqual({ captions: 8, tracks: 8 });
    conn.close();
  });

  it('stops cleanly on Ctrl-C, giving its work back to the queue', { timeout: E2E_TIMEOUT_MS }, async () => {
    const db = join(work, 'sigint.sqlite');
    const music = library('sigint-music', 6);
    expect((await cli(db, ['scan', music])).code).toBe(0);
    const run = start(db, ['caption', '--all', '--model', pack, '--batch', '1']);
    const reader = new Database(db, { readonly: true, fileMustExist: true });
    const deadline = Date.now() + 150_000;
    while ((reader.prepare('SELECT count(*) AS n FROM captions').get() as { n: number }).n < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Run the same command again to resume');
    const owned = reader.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'running' AND owner IS NOT NULL").get() as { n: number };
    expect(owned.n).toBe(0); // nothing left claimed by the stopped process
    reader.close();
    const list = await cli(db, ['jobs', 'list']);
    expect(list.stdout).toMatch(/caption-all\s+running/);
  });

  it('pauses, resumes and cancels queued work from the jobs command', { timeout: E2E_TIMEOUT_MS }, async () => {
    const db = join(work, 'jobs.sqlite');
    const music = library('jobs-music', 2);
    expect((await cli(db, ['scan', music])).code).toBe(0);
    const q = json<{ jobId: number; queued: boolean }>(await cli(db, ['caption', '--all', '--model', pack, '--no-wait', '--json']));
    expect(q.queued).toBe(true);
    const id = String(q.jobId);
    expect(json<{ state: string }>(await cli(db, ['jobs', 'pause', id, '--json'])).state).toBe('paused');
    expect(json<{ state: string }>(await cli(db, ['jobs', 'resume', id, '--json'])).state).toBe('queued');
    expect(json<{ state: string }>(await cli(db, ['jobs', 'cancel', id, '--json'])).state).toBe('cancelled');
    expect(json<{ state: string }>(await cli(db, ['jobs', 'retry', id, '--json'])).state).toBe('queued');
    const bad = await cli(db, ['jobs', 'frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Expected one of: list, pause, resume, cancel, retry/);
  });

  it('names a missing model pack and the cause', { timeout: E2E_TIMEOUT_MS }, async () => {
    const db = join(work, 'nomodel.sqlite');
    const r = await cli(db, ['caption', '--all', '--model', join(work, 'no-such-pack')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-pack.*has no manifest\.json/);
    const conn = openDatabase(db);
    expect(listJobs(conn, { states: ['queued', 'running', 'paused', 'failed'] })).toEqual([]); // nothing queued
    conn.close();
    const r2 = await cli(db, ['caption', '--all']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/No model pack is installed/);
  });
});
