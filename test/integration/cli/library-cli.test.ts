/**
 * @file The library commands run as a user runs them: `node bin/musilingo.mjs --db <tmp> …` (the bundle is
 * built by test/setup/build-cli.ts). Checks output, JSON, exit codes and messages for wrong arguments.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWav, tempDir, waitFor } from '../../helpers/library-audio';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let tmp: ReturnType<typeof tempDir>;
let dbPath: string;
let music: string;

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--db', dbPath, ...args], {
      cwd: tmp.dir,
      env: { ...process.env, MUSILINGO_HOME: join(tmp.dir, 'home') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(() => {
  tmp = tempDir('musilingo-cli-');
  dbPath = join(tmp.dir, 'lib.sqlite');
  music = join(tmp.dir, 'music');
  mkdirSync(join(music, 'album'), { recursive: true });
  writeFileSync(join(music, 'album', '01 first.wav'), makeWav({ freqHz: 300, tags: { INAM: 'Morning Piano', IART: 'Ann Example', IGNR: 'Classical', ICRD: '1994', IPRD: 'Dawn' } }));
  writeFileSync(join(music, 'album', '02 second.wav'), makeWav({ freqHz: 310, tags: { INAM: 'Evening Guitar', IART: 'Bob Sample', IGNR: 'Rock', ICRD: '2004' } }));
  writeFileSync(join(music, 'broken.mp3'), 'definitely not an mp3 file');
});
afterAll(() => tmp.cleanup());

describe('musilingo library commands', () => {
  it('scan: summary on stdout, plain progress and unreadable files on stderr', async () => {
    const r = await cli(['scan', music]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Scanned .*music: 3 audio files, 2 added/);
    expect(r.stderr).toContain('3 to read');
    expect(r.stderr).toContain(`[not-audio] "${join(music, 'broken.mp3')}"`);
    expect(r.stderr).not.toContain('\x1b['); // no bar when not a terminal
  });

  it('list, show and folders list describe what was scanned', async () => {
    const list = await cli(['list', '--json']);
    expect(list.code).toBe(0);
    const tracks = JSON.parse(list.stdout) as { id: number; title: string; year: number }[];
    expect(tracks.map((t) => t.title)).toEqual(['Morning Piano', 'Evening Guitar']);
    const plain = await cli(['list']);
    expect(plain.stdout).toMatch(/Ann Example – Morning Piano \(Dawn, 1994\)/);

    const byId = await cli(['show', String(tracks[0]!.id)]);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toMatch(/title\s+Morning Piano/);
    expect(byId.stdout).toMatch(/genre\s+Classical/);
    const byPath = await cli(['show', join('music', 'album', '02 second.wav'), '--json']); // relative to cwd
    expect(JSON.parse(byPath.stdout)).toMatchObject({ title: 'Evening Guitar', year: 2004, captions: [] });

    const folders = await cli(['folders', 'list']);
    expect(folders.stdout).toMatch(/music {2}2 tracks, 0 missing, 1 unreadable/);
    const errors = await cli(['list', '--errors']);
    expect(errors.stdout).toContain('broken.mp3');
  });

  it('search: ranked text with filters, captions included', async () => {
    const db = new Database(dbPath);
    const id = db.prepare("SELECT id FROM tracks WHERE title = 'Evening Guitar'").pluck().get() as number;
    db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 30000, 'm', 'a mellow acoustic guitar with soft piano chords', 0)").run(id);
    db.close();
    const piano = JSON.parse((await cli(['search', 'piano', '--json'])).stdout) as { title: string; snippet: string | null }[];
    expect(piano.map((h) => h.title)).toEqual(['Morning Piano', 'Evening Guitar']); // title beats caption
    expect(piano[1]!.snippet).toContain('[piano]');
    const captioned = JSON.parse((await cli(['search', 'pian', '--captioned', '--json'])).stdout) as { title: string }[];
    expect(captioned.map((h) => h.title)).toEqual(['Evening Guitar']);
    const years = JSON.parse((await cli(['search', '', '--year', '1990-1999', '--json'])).stdout) as { title: string }[];
    expect(years.map((h) => h.title)).toEqual(['Morning Piano']);
    const genre = JSON.parse((await cli(['search', '', '--genre', 'rock', '--artist', 'bob', '--json'])).stdout) as { title: string }[];
    expect(genre.map((h) => h.title)).toEqual(['Evening Guitar']);
    const odd = await cli(['search', 'piano" OR (NEAR -x* title:', '--json']);
    expect(odd.code, odd.stderr).toBe(0);
  });

  it('wrong arguments: a clear message and a non-zero exit', async () => {
    const cases: [string[], number, RegExp][] = [
      [['scan'], 2, /name at least one folder/],
      [['scan', join(tmp.dir, 'nope')], 1, /does not exist/],
      [['search'], 2, /missing search text/],
      [['search', 'x', '--year', '1999-1990'], 2, /backwards/],
      [['search', 'x', '--year', 'soon'], 2, /--year must be a year/],
      [['search', 'x', '--bogus'], 2, /Unknown option '--bogus'/],
      [['show', '999999'], 2, /no track with id "999999"/],
      [['show', join(music, 'broken.mp3')], 1, /not-audio/],
      [['list', '--limit', '0'], 2, /--limit must be a positive whole number/],
      [['folders'], 2, /missing subcommand/],
      [['folders', 'frob'], 2, /unknown subcommand "frob"/],
      [['folders', 'add', join(music, 'album')], 2, /already in the library as part of/],
      [['folders', 'remove', '/not/a/folder'], 2, /is not in the library/],
      [['purge', '--older-than', 'week'], 2, /number of days/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    cases.forEach(([args, code, message], i) => {
      expect(runs[i]!.code, args.join(' ')).toBe(code);
      expect(runs[i]!.stderr, args.join(' ')).toMatch(message);
    });
  });

  it('watch: reports changes until Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, '--db', dbPath, 'watch'], { env: { ...process.env, MUSILINGO_HOME: join(tmp.dir, 'home') } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor(() => out.includes('Watching'), 'the watcher to start', 20_000);
      writeFileSync(join(music, 'album', '03 third.wav'), makeWav({ freqHz: 320, tags: { INAM: 'Third' } }));
      await waitFor(() => /1 added/.test(out), 'the added file to be reported', 20_000);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    const list = JSON.parse((await cli(['list', '--json'])).stdout) as { title: string }[];
    expect(list.map((t) => t.title)).toContain('Third');
  });

  it('folders remove keeps tracks as missing; purge --all deletes them', async () => {
    const rm = await cli(['folders', 'remove', music]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toMatch(/3 track\(s\) kept as missing/);
    expect(JSON.parse((await cli(['list', '--missing', '--json'])).stdout)).toHaveLength(3);
    expect((await cli(['purge'])).stdout).toContain('Purged 0');
    expect((await cli(['purge', '--all'])).stdout).toContain('Purged 3');
    expect(JSON.parse((await cli(['list', '--all', '--json'])).stdout)).toHaveLength(0);
  });
});
