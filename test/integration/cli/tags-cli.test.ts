/**
 * @file `musilingo tags` as a user runs it: suggest → list → accept → write --dry-run → write → history → undo on
 * real files, checked with ffprobe and mutagen-inspect; kill -9 between the journal and the rename (no torn file,
 * the rerun completes); and the tag questions on the tiny model pack, whose gibberish answers must land as free
 * text, never forced onto a vocabulary term they do not name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertModelCaption } from '../../../main/db/captions';
import { openDatabase } from '../../../main/db/open';
import { tempPathFor } from '../../../main/tags/writer';
import { makeAudio } from '../../helpers/library-audio';
import { ffprobeTags, mutagenTags, pcmMd5 } from '../../helpers/tag-readers';
import { buildTinyPack } from '../captions/tiny-pack';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const TIMEOUT_MS = 240_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let work: string;
let dir: string;
let db: string;

function start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, '--db', db, ...args], { env: { ...process.env, MUSILINGO_HOME: join(work, 'home'), MUSILINGO_THREADS: '1', ...env } });
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

async function cli(...args: string[]): Promise<Run> {
  return start(args).done;
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`musilingo ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const sha = (p: string) => createHash('sha1').update(readFileSync(p)).digest('hex');

interface ListJson {
  fields: { field: string; fileValues: string[] | null; suggestions: { value: string; source: string; inVocabulary: boolean; evidence: string | null; state: string }[]; pending?: string[] | null }[];
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ml-tags-cli-'));
  dir = join(work, 'music');
  mkdirSync(dir);
  db = join(work, 'lib.sqlite');
  await makeAudio(join(dir, '1-rock.mp3'), 'mp3', { title: 'One', genre: 'Rock' }, { seconds: 1 });
  await makeAudio(join(dir, '2-none.flac'), 'flac', { title: 'Two' }, { seconds: 1 });
  await ok('scan', dir);
  const conn = openDatabase(db);
  for (const id of [1, 2]) {
    upsertModelCaption(conn, {
      trackId: id, startMs: 0, lengthMs: 1000, modelId: 'musilingo-test', adapterId: '',
      text: 'A calm jazz piece with piano and upright bass, a soft female vocal and no percussion, slow tempo.',
    });
  }
  conn.close();
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('musilingo tags', () => {
  // Runs first, before anything is accepted: --all with nothing to write is not a usage error.
  it('write --all with nothing accepted says so and exits 0', { timeout: TIMEOUT_MS }, async () => {
    const r = await cli('tags', 'write', '--dry-run', '--all');
    expect(r.stderr).not.toContain('name tracks or use --all');
    expect(r.stdout).toContain('Nothing accepted to write');
    expect(r.code).toBe(0);
    expect((await cli('tags', 'write', '--dry-run')).code).toBe(2);
  });

  it('suggest → list → accept → write --dry-run → write → history → undo', { timeout: TIMEOUT_MS }, async () => {
    const mp3 = join(dir, '1-rock.mp3');
    const flac = join(dir, '2-none.flac');
    const before = { mp3: await mutagenTags(mp3), flac: await mutagenTags(flac), pcm: await pcmMd5(flac) };

    expect(await ok('tags', 'suggest', '--all', '--no-questions')).toMatch(/suggestions from captions on 2 track/);
    const list = JSON.parse(await ok('tags', 'list', flac, '--json')) as ListJson;
    const values = (f: string) => list.fields.find((x) => x.field === f)!.suggestions.map((s) => s.value);
    expect(values('genre')).toEqual(['jazz']);
    expect(values('mood')).toEqual(['calm']);
    expect(values('instruments')).toEqual(['piano', 'double bass']); // "upright bass" is a synonym; "no percussion" is not percussion
    expect(values('vocals')).toEqual(['female']);
    expect(values('tempo')).toEqual(['slow']);
    expect(list.fields.find((x) => x.field === 'genre')!.suggestions[0]!.evidence).toMatch(/calm jazz piece/);
    expect(await ok('tags', 'list', mp3)).toMatch(/genre\n {2}file {5}Rock\n {2}pending {2}jazz/);

    // Bulk rule: accept genre only where the file has none (the MP3 has Rock).
    expect(await ok('tags', 'accept', 'genre', '--all-tracks', '--where-empty')).toMatch(/genre: accepted on 1 track/);
    await ok('tags', 'accept', flac, 'instruments');
    await ok('tags', 'accept', mp3, 'mood');
    await ok('tags', 'set', mp3, 'caption=Calm jazz — 日本');
    const rejected = await cli('tags', 'accept', mp3, 'tempo', '--value', 'fast');
    expect(rejected.code).toBe(1);

    const shaBefore = [sha(mp3), sha(flac)];
    const dry = await ok('tags', 'write', '--dry-run', '--all');
    expect(dry).toContain(`${flac}\n  genre (GENRE): (none) → jazz\n  instruments (MUSILINGO_INSTRUMENTS): (none) → piano | double bass`);
    expect(dry).toContain(`  caption (COMM:MusiLingo): (none) → Calm jazz — 日本`);
    expect(dry).toMatch(/2 of 2 file\(s\) would change; nothing was written/);
    expect([sha(mp3), sha(flac)]).toEqual(shaBefore);

    const written = await ok('tags', 'write', '--all');
    expect(written).toMatch(/2 written, 0 unchanged, 0 skipped, 0 failed/);
    expect((await ffprobeTags(flac)).GENRE).toBe('jazz');
    expect((await ffprobeTags(mp3)).genre).toBe('Rock');
    expect((await mutagenTags(mp3)).join('\n')).toContain('COMM=MusiLingo=eng=Calm jazz — 日本');
    expect((await mutagenTags(flac)).join('\n')).toContain('MUSILINGO_INSTRUMENTS=double bass');
    expect(await pcmMd5(flac)).toBe(before.pcm);
    // Writing again changes nothing.
    expect(await ok('tags', 'write', '--all')).toMatch(/0 written, 2 unchanged/);

    const history = await ok('tags', 'history');
    const batch = /^(b\S+) {2}write .* 2 written, 0 failed$/m.exec(history)?.[1];
    expect(batch).toBeDefined();

    expect(await ok('tags', 'undo')).toMatch(/1 restored|2 restored/);
    expect(await mutagenTags(mp3)).toEqual(before.mp3);
    expect((await mutagenTags(flac)).map((l) => l.replace(/^[a-z_]+=/, (k) => k.toUpperCase())).sort()).toEqual(before.flac.map((l) => l.replace(/^[a-z_]+=/, (k) => k.toUpperCase())).sort());
    expect(await ok('tags', 'history')).toMatch(new RegExp(`undo .* undoes ${batch!}`));
    expect((await cli('tags', 'undo', batch!)).stderr).toMatch(/already undone/);
  });

  it('kill -9 between the journal and the rename leaves the file whole; the rerun rolls back and writes', { timeout: TIMEOUT_MS }, async () => {
    const flac = join(dir, '2-none.flac');
    await ok('tags', 'set', flac, 'mood=dreamy');
    const bytes = sha(flac);
    const { child, done } = start(['tags', 'write', flac, '--fields', 'mood'], { MUSILINGO_TEST_TAG_PAUSE_BEFORE_RENAME_MS: '120000' });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await expect.poll(() => err, { timeout: 60_000, interval: 100 }).toContain('paused before rename');
    expect(existsSync(tempPathFor(flac))).toBe(true);
    child.kill('SIGKILL');
    await done;
    expect(sha(flac)).toBe(bytes);
    expect(await ok('tags', 'history')).toMatch(/0 written, 0 failed, 1 interrupted/);
    const rerun = await ok('tags', 'write', flac, '--fields', 'mood');
    expect(rerun).toMatch(/1 written/);
    expect(existsSync(tempPathFor(flac))).toBe(false);
    expect((await ffprobeTags(flac)).MOOD).toBe('dreamy');
    expect(await ok('tags', 'history')).toMatch(/0 written, 1 failed/);
  });

  it('suggest with the tiny model: answers become suggestions; gibberish is kept as free text, never forced onto a term', { timeout: TIMEOUT_MS }, async () => {
    const pack = join(work, 'pack');
    await buildTinyPack(work, pack);
    const out = await ok('tags', 'suggest', join(dir, '1-rock.mp3'), '--model', pack);
    expect(out).toMatch(/asked the tag questions about 1 track/);
    const list = JSON.parse(await ok('tags', 'list', join(dir, '1-rock.mp3'), '--json')) as ListJson;
    const fromQuestions = list.fields.flatMap((f) => f.suggestions.filter((s) => s.source === 'question').map((s) => ({ ...s, field: f.field })));
    expect(new Set(fromQuestions.map((s) => s.field))).toEqual(new Set(['genre', 'mood', 'instruments', 'vocals', 'tempo']));
    for (const s of fromQuestions) {
      const answer = s.evidence!.split(' → ').slice(1).join(' → ');
      if (s.inVocabulary) expect(answer.toLowerCase()).toContain(s.value.split(' ')[0]!.toLowerCase());
      else expect(answer.replace(/\s+/g, ' ').startsWith(s.value.replace(/…$/, ''))).toBe(true);
    }
  });
});
