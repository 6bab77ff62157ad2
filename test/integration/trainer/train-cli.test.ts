/**
 * @file `musilingo train` and `musilingo adapters` as a user runs them, on the tiny-llama checkpoint with a real
 * SQLite library: data report with skipped tracks, loss points and adapter rows, activate/export, and a run
 * killed with SIGKILL then resumed ending with the same adapter as an uninterrupted run. The CLI bundle is built
 * by `npm test` before vitest.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../../model/safetensors';
import { readAdapterFile } from '../../../trainer/run/checkpoint';
import { mulberry32 } from '../../../model/random';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const FIX = join(ROOT, 'test', 'fixtures', 'tiny-llama');
const IN_DIM = 8;

let tmp: string;
let dbPath: string;
let modelDir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], onLine?: (line: string, kill: () => void, interrupt: () => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--db', dbPath, ...args], { cwd: tmp, env: { ...process.env, MUSILINGO_HOME: join(tmp, 'home') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      stdout += text;
      for (const line of text.split('\n')) if (line && onLine) onLine(line, () => child.kill('SIGKILL'), () => child.kill('SIGINT'));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function events(out: string): Record<string, unknown>[] {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'musilingo-train-cli-'));
  dbPath = join(tmp, 'lib.sqlite');
  modelDir = join(tmp, 'model');
  mkdirSync(modelDir);
  copyFileSync(join(FIX, 'config.json'), join(modelDir, 'config.json'));
  copyFileSync(join(FIX, 'model.safetensors'), join(modelDir, 'model.safetensors'));
  const r = mulberry32(4);
  await writeSafetensors(join(modelDir, 'adapter.safetensors'), {
    'llama_proj.weight': { data: Float32Array.from({ length: 64 * IN_DIM }, () => (r() - 0.5) * 0.2), shape: [64, IN_DIM] },
    'llama_proj.bias': { data: new Float32Array(64), shape: [64] },
  });
  // The library: the CLI creates the schema on first open; `version` opens nothing, so run `adapters list`.
  const first = await cli(['adapters', 'list']);
  expect(first.code).toBe(0);
  const db = new Database(dbPath);
  const now = Date.now();
  const addTrack = (name: string, tags: { genre?: string; mood?: string; bpm?: number }, opts: { windows?: boolean; exists?: boolean } = {}): number => {
    const path = join(tmp, `${name}.flac`);
    if (opts.exists !== false) writeFileSync(path, 'x');
    const id = Number(db.prepare(
      `INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, genre, mood, bpm, added_at, updated_at) VALUES (?, 1, 0, ?, ?, ?, ?, ?, ?)`,
    ).run(path, `fp-${name}`, tags.genre ?? null, tags.mood ?? null, tags.bpm ?? null, now, now).lastInsertRowid);
    if (opts.windows !== false) {
      const emb = Float32Array.from({ length: 2 * IN_DIM }, () => r() - 0.5);
      db.prepare('INSERT INTO windows (track_id, model_id, start_ms, length_ms, rows, dim, embedding, created_at) VALUES (?, ?, 0, 30000, 2, ?, ?, ?)')
        .run(id, 'tiny-mert', IN_DIM, Buffer.from(emb.buffer), now);
    }
    return id;
  };
  for (let i = 0; i < 6; i++) addTrack(`t${i}`, { genre: i % 2 ? 'jazz' : 'rock', mood: 'calm', bpm: 90 + i });
  const edited = addTrack('edited', { genre: 'folk' });
  db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, source, text, created_at) VALUES (?, 0, 30000, 'm', 'user', 'Soft folk guitar and a whispered voice.', ?)").run(edited, now);
  addTrack('untagged', {});
  addTrack('unanalysed', { genre: 'pop' }, { windows: false });
  addTrack('vanished', { genre: 'pop' }, { exists: false });
  db.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TRAIN = ['train', '--from-tags', '--json', '--steps', '6', '--accumulation', '2', '--checkpoint-every', '2', '--eval-every', '3', '--lr', '1e-3', '--held-out', '0.2'];

describe('musilingo train', () => {
  it('trains, reports skipped tracks, stores the curve and a versioned adapter', async () => {
    const res = await cli([...TRAIN, '--model', modelDir, '--activate']);
    expect(res.stderr).not.toMatch(/Error/);
    expect(res.code).toBe(0);
    const ev = events(res.stdout);
    const data = ev.find((e) => e['event'] === 'data')!['report'] as { skippedByReason: Record<string, number>; userCaptions: number; tracksUsed: number };
    expect(data.skippedByReason).toEqual({ 'no-usable-tags': 1, 'needs-analysis': 1, 'missing-file': 1 });
    expect(data.userCaptions).toBe(1);
    expect(data.tracksUsed).toBe(7);
    expect(ev.filter((e) => e['event'] === 'step').length).toBe(6);
    const done = ev.find((e) => e['event'] === 'done')!;
    const db = new Database(dbPath, { readonly: true });
    try {
      const run = db.prepare('SELECT * FROM training_runs WHERE id = ?').get(done['runId']) as Record<string, unknown>;
      expect(run['state']).toBe('done');
      expect(run['step']).toBe(6);
      expect(db.prepare("SELECT count(*) AS n FROM training_points WHERE run_id = ? AND kind = 'train'").get(done['runId'])).toEqual({ n: 6 });
      expect((db.prepare("SELECT count(*) AS n FROM training_points WHERE run_id = ? AND kind = 'held_out'").get(done['runId']) as { n: number }).n).toBeGreaterThanOrEqual(2);
      const a = db.prepare('SELECT * FROM adapters WHERE id = ?').get(done['adapterId']) as Record<string, unknown>;
      expect(a['is_active']).toBe(1);
      expect(a['run_id']).toBe(done['runId']);
    } finally {
      db.close();
    }
    const list = await cli(['adapters', 'list']);
    expect(list.stdout).toMatch(new RegExp(`\\* ${String(done['adapterId'])}`));
    const dest = join(tmp, 'exported.safetensors');
    expect((await cli(['adapters', 'export', String(done['adapterId']), dest])).code).toBe(0);
    const exported = await readAdapterFile(dest);
    expect(exported.adapter.inDim).toBe(IN_DIM);
    expect(exported.meta['run_id']).toBe(String(done['runId']));
    // The next run starts from the active adapter: lineage.
    const again = await cli(['train', '--from-tags', '--json', '--steps', '1', '--accumulation', '1', '--model', modelDir]);
    expect(again.code).toBe(0);
    const second = events(again.stdout).find((e) => e['event'] === 'done')!;
    const show = await cli(['adapters', 'show', String(second['adapterId'])]);
    expect(show.stdout).toMatch(new RegExp(String(done['adapterId'])));
  });

  it('resumes a run killed with SIGKILL to the adapter of an uninterrupted run', async () => {
    let runId = 0;
    const own = join(modelDir, 'adapter.safetensors'); // not the adapter the first test activated
    const killed = await cli([...TRAIN, '--model', modelDir, '--adapter', own], (line, kill) => {
      if (!line.startsWith('{')) return;
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e['event'] === 'started') runId = e['runId'] as number;
      if (e['event'] === 'checkpoint') kill();
    });
    expect(killed.code).toBeNull(); // killed by a signal
    expect(runId).toBeGreaterThan(0);
    const resumed = await cli(['train', '--resume', String(runId), '--json']);
    expect(resumed.code).toBe(0);
    const a = events(resumed.stdout).find((e) => e['event'] === 'done')!;
    const full = await cli([...TRAIN, '--model', modelDir, '--adapter', own]);
    const b = events(full.stdout).find((e) => e['event'] === 'done')!;
    const fa = await readAdapterFile(a['adapterPath'] as string);
    const fb = await readAdapterFile(b['adapterPath'] as string);
    expect(Array.from(fa.adapter.weight)).toEqual(Array.from(fb.adapter.weight));
    expect(Array.from(fa.adapter.bias)).toEqual(Array.from(fb.adapter.bias));
  });

  it('stops on Ctrl-C with a checkpoint, marks the run cancelled, and resumes it', async () => {
    let runId = 0;
    let sent = false;
    const stopped = await cli([...TRAIN, '--model', modelDir], (line, _kill, interrupt) => {
      if (!line.startsWith('{')) return;
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e['event'] === 'started') runId = e['runId'] as number;
      if (e['event'] === 'step' && !sent) {
        sent = true;
        interrupt();
      }
    });
    expect(stopped.code).toBe(130);
    const cancelled = events(stopped.stdout).find((e) => e['event'] === 'cancelled')!;
    expect(cancelled['step']).toBeGreaterThanOrEqual(1);
    const db = new Database(dbPath, { readonly: true });
    expect((db.prepare('SELECT state, step FROM training_runs WHERE id = ?').get(runId) as { state: string; step: number }).state).toBe('cancelled');
    db.close();
    const resumed = await cli(['train', '--resume', String(runId), '--json']);
    expect(resumed.code).toBe(0);
    expect(events(resumed.stdout).filter((e) => e['event'] === 'step')[0]!['step']).toBe((cancelled['step'] as number) + 1);
  });

  it('explains wrong arguments', async () => {
    const res = await cli(['train', '--from-tags', '--weights', 'int3', '--model', modelDir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/Expected one of: dense, int4-transposed, int4-dequant/);
    const none = await cli(['train', '--resume', '999']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/No training run 999/);
    // A run another live process holds is not trained twice.
    const runDir = join(tmp, 'busy-run');
    mkdirSync(runDir);
    writeFileSync(join(runDir, 'run.lock'), String(process.pid));
    const db = new Database(dbPath);
    const id = Number(db.prepare(
      "INSERT INTO training_runs (model_id, model_path, encoder_model_id, state, config, total_steps, checkpoint_path, created_at, updated_at) VALUES ('m', ?, 'tiny-mert', 'cancelled', '{}', 4, ?, 0, 0)",
    ).run(modelDir, join(runDir, 'checkpoint.safetensors')).lastInsertRowid);
    db.close();
    const busy = await cli(['train', '--resume', String(id)]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`Run ${id} is being trained by process ${process.pid}`));
  });
});
