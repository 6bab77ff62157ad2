/**
 * @file The fine-tune journey as a newcomer runs it, through the built CLI on a fresh data folder
 * (MUSILINGO_HOME in a temp dir): `models demo` → `scan` (files of several formats made with sox and ffmpeg,
 * three of them tagged) → `caption --all` → two captions edited → `train --from-tags --steps 20` with no model
 * flags → `adapters list` shows the run → `adapters activate` → `caption --stale` re-captions exactly the
 * non-edited tracks, each recorded with the new adapter id (and an answer too) → `train --model demo@float32` and
 * `--model <pack folder>` name the same pack. The CLI bundle is built by the test setup.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captionsForTrack } from '../../../main/db/captions';
import { DEMO_LABEL } from '../../../main/models/demo-label';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const HAS_TOOLS = [['sox', '--version'], ['ffmpeg', '-version']].every(([t, flag]) => {
  try {
    execFileSync(t!, [flag!], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

let home: string;
let music: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, MUSILINGO_HOME: home, MUSILINGO_EP: 'cpu' }, timeout: 240_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function lastJson<T>(out: string): T {
  const lines = out.split('\n').filter((l) => l.startsWith('{') || l.startsWith('['));
  return JSON.parse(lines[lines.length - 1] ?? 'null') as T;
}

function db(): Database.Database {
  return new Database(join(home, 'library.sqlite'));
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'ml-journey-'));
  // A music folder outside the data folder: folders inside it are refused (main/library/folder-path.ts).
  music = mkdtempSync(join(tmpdir(), 'ml-journey-music-'));
  if (!HAS_TOOLS) return;
  const ff = (args: string[]): void => void execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
  execFileSync('sox', ['-n', '-r', '44100', join(music, 'a-plain.wav'), 'synth', '4', 'sine', '440']);
  ff(['-f', 'lavfi', '-i', 'sine=f=220:d=4', '-metadata', 'genre=Jazz', '-metadata', 'comment=slow piano', join(music, 'b-jazz.flac')]);
  ff(['-f', 'lavfi', '-i', 'sine=f=330:d=4', '-metadata', 'genre=Rock', join(music, 'c-rock.mp3')]);
  ff(['-f', 'lavfi', '-i', 'sine=f=550:d=4', '-c:a', 'libvorbis', '-metadata', 'genre=Ambient', join(music, 'd-ambient.ogg')]);
  ff(['-f', 'lavfi', '-i', 'sine=f=660:d=4', '-c:a', 'aac', join(music, 'e-plain.m4a')]);
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(music, { recursive: true, force: true });
});

describe.skipIf(!HAS_TOOLS)('the fine-tune journey (CLI)', () => {
  it('goes from the demo model to re-captioned tracks', async () => {
    const demo = await cli(['models', 'demo']);
    expect(demo.stderr + demo.stdout).toContain('Ready: demo@float32');
    expect(demo.code).toBe(0);
    expect((await cli(['models', 'list'])).stdout).toContain(`demo  (${DEMO_LABEL})`);

    const scan = await cli(['scan', music]);
    expect(scan.code).toBe(0);
    expect(scan.stdout).toContain('5 added');

    const all = await cli(['caption', '--all', '--json']);
    expect(lastJson<{ total: number; done: number }>(all.stdout)).toMatchObject({ total: 5, done: 5 });

    // Two captions edited with the CLI (the same store as the Track page's editor).
    let conn = db();
    const ids = (conn.prepare('SELECT id FROM tracks ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    expect(ids).toHaveLength(5);
    const edited = ids.slice(0, 2);
    for (const id of edited) expect(captionsForTrack(conn, id).find((x) => x.source === 'model')?.adapterId).toBe(''); // the model's own adapter
    conn.close();
    for (const id of edited) {
      const e = await cli(['caption', String(id), '--edit', `my own words for track ${id}`]);
      expect(e.code).toBe(0);
      expect(e.stdout).toContain(`Edited the caption of track ${id}`);
    }

    const train = await cli(['train', '--from-tags', '--steps', '20', '--json']);
    expect(train.stderr).not.toMatch(/No model pack/);
    expect(train.code).toBe(0);
    const done = lastJson<{ event: string; runId: number; adapterId: string }>(train.stdout);
    expect(done.event).toBe('done');
    const runs = (await cli(['train', '--list', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; modelId: string; modelPath: string });
    expect(runs.find((r) => r.id === done.runId)?.modelId).toBe('demo'); // the pack's model, not checkpoint:/…

    const listed = await cli(['adapters', 'list']);
    expect(listed.stdout).toContain(done.adapterId);
    expect(listed.stdout).toContain(`run ${done.runId}`);
    expect(listed.stdout).toMatch(/held-out/);
    expect(listed.stdout).toContain('demo');

    const act = await cli(['adapters', 'activate', done.adapterId]);
    expect(act.stdout).toContain(`Active adapter for demo: ${done.adapterId}`);

    const stale = await cli(['caption', '--stale', '--json']);
    expect(stale.code).toBe(0);
    const result = lastJson<{ total: number; done: number; trackIds: number[]; adapterId: string }>(stale.stdout);
    expect(result).toMatchObject({ total: 3, done: 3, adapterId: done.adapterId });
    expect(result.trackIds).toEqual(ids.slice(2));
    conn = db();
    for (const id of ids.slice(2)) {
      expect(captionsForTrack(conn, id).filter((c) => c.source === 'model').map((c) => c.adapterId)).toContain(done.adapterId);
    }
    for (const id of edited) {
      const caps = captionsForTrack(conn, id);
      expect(caps[0]).toMatchObject({ source: 'user', text: `my own words for track ${id}` });
      expect(caps.some((c) => c.adapterId === done.adapterId)).toBe(false);
    }
    conn.close();
    // Nothing left to do; a caption asked for now uses the active adapter.
    expect(lastJson<{ total: number }>((await cli(['caption', '--stale', '--json'])).stdout).total).toBe(0);
    const one = await cli(['caption', String(ids[0]), '--force', '--json']);
    expect(lastJson<{ captions: { adapterId: string }[] }>(one.stdout).captions.map((c) => c.adapterId)).toContain(done.adapterId);
    // An answer records the adapter it came from too.
    expect((await cli(['ask', String(ids[2]), 'What instruments are playing?', '--json'])).code).toBe(0);
    conn = db();
    expect(conn.prepare("SELECT adapter_id AS a FROM qa_messages WHERE role = 'assistant'").all()).toEqual([{ a: done.adapterId }]);
    conn.close();

    // The same pack by pack id and by folder; the run records the source it read the decoder from.
    const packDir = join(home, 'models', 'packs', 'demo@float32');
    for (const model of ['demo@float32', packDir]) {
      const again = await cli(['train', '--from-tags', '--steps', '2', '--model', model, '--json']);
      expect(again.code).toBe(0);
      expect(lastJson<{ event: string }>(again.stdout).event).toBe('done');
    }
    const last = (await cli(['train', '--list', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { modelId: string; modelPath: string });
    expect(last.every((r) => r.modelId === 'demo')).toBe(true);
    expect(existsSync(last[0]!.modelPath)).toBe(true);
    expect(last[0]!.modelPath).not.toBe(packDir); // the download was there: its exact weights were used

    // The source download deleted: training reads the frozen decoder from the pack alone and says so.
    rmSync(join(home, 'models', 'downloads', 'musilingo-demo'), { recursive: true, force: true });
    const alone = await cli(['train', '--from-tags', '--steps', '3', '--json']);
    expect(alone.stderr).not.toMatch(/Error/);
    expect(alone.code).toBe(0);
    const events = alone.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; decoderFrom?: string; decoderPath?: string; adapterId?: string });
    expect(events.find((e) => e.event === 'started')).toMatchObject({ decoderFrom: 'pack', decoderPath: packDir });
    expect(events.at(-1)?.event).toBe('done');
    const runsNow = (await cli(['train', '--list', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { modelId: string; modelPath: string });
    expect(runsNow[0]).toMatchObject({ modelId: 'demo', modelPath: packDir });
  });
});
