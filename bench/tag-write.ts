/**
 * @file Benchmark: writing genre + mood + caption into N real MP3/FLAC files (default 2,000, half each, made
 * by ffmpeg) with the full safety path (fingerprint check, journal row committed first, temp copy + fsync +
 * rename, music-metadata read-back, library update), in files/s, beside the anchor in the same run:
 * `beet modify -y genre=… comments=… mood=…` on an identical copy of the files (Debian's beets, its library
 * imported from that folder with `beet import -A`). beets writes genre and comments into the files; it has no
 * mood tag in its file mapping, so mood stays in its database (it writes less than we do).
 * Also prints the precision of caption-derived genre/instrument suggestions on held-out MusicCaps rows
 * against their aspect lists (a vocabulary quality figure; nothing here is a threshold).
 *
 * Usage: npm run bench -- tag-write [files=2000]   (TAG_WRITE_CONCURRENCY=n: files written at once, default 16)
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { openDatabase } from '../main/db/open';
import { LibraryService } from '../main/library/library-service';
import { matchTerms } from '../main/tags/vocabulary';
import { TagWriter } from '../main/tags/writer';

const run = promisify(execFile);
const N = Number(process.argv[2] ?? 2000);
const CAPTION = 'A calm jazz piece with piano and upright bass, a soft female vocal, slow tempo.';

function fillFolder(dir: string, sources: readonly string[], n: number): void {
  for (let i = 0; i < n; i++) {
    const src = sources[i % sources.length]!;
    const sub = join(dir, `Album ${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    copyFileSync(src, join(sub, `${String(i).padStart(5, '0')}${src.slice(src.lastIndexOf('.'))}`));
  }
}

/** Caption-derived genre/instrument precision on the last 20% of the MusicCaps rows (held out from curation). */
function vocabularyPrecision(csvPath: string): string {
  if (!existsSync(csvPath)) return `(no ${csvPath})`;
  const lines = readFileSync(csvPath, 'utf8').split('\n');
  const rows = lines.slice(1).filter(Boolean);
  const held = rows.slice(Math.floor(rows.length * 0.8));
  const out: string[] = [];
  for (const field of ['genre', 'instruments'] as const) {
    let hits = 0;
    let total = 0;
    for (const line of held) {
      // aspect_list is the 5th column, a quoted Python list; the caption is the 6th.
      const m = /^[^,]*,[^,]*,[^,]*,(?:"[^"]*"|[^,]*),"(\[[^\]]*\])","((?:[^"]|"")*)"/.exec(line);
      if (!m) continue;
      const aspects = m[1]!.toLowerCase();
      for (const t of matchTerms(m[2]!.replace(/""/g, '"'), field)) {
        total++;
        // A suggestion counts as right when the row's aspect list names the term or one of its words.
        if (aspects.includes(t.term) || aspects.includes(t.span.toLowerCase())) hits++;
      }
    }
    out.push(`${field} ${total ? ((100 * hits) / total).toFixed(1) : '-'}% of ${total}`);
  }
  return `${out.join(', ')} (${held.length} held-out rows)`;
}

const tmp = mkdtempSync(join(tmpdir(), 'musilingo-bench-tags-'));
try {
  console.log(`tag-write bench: ${N} files on ${cpus().length} cores (shared with other work: compare the ratio, not absolutes)`);
  const src = join(tmp, 'src');
  mkdirSync(src);
  const sources = [join(src, 'a.mp3'), join(src, 'b.flac')];
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'libmp3lame', '-b:a', '128k', '-metadata', 'title=Bench', '-metadata', 'genre=Rock', sources[0]!]);
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=2', '-c:a', 'flac', '-metadata', 'title=Bench', sources[1]!]);
  const ours = join(tmp, 'ours');
  const theirs = join(tmp, 'beets');
  fillFolder(ours, sources, N);
  fillFolder(theirs, sources, N);

  // MusiLingo: scan (not timed), then one write batch with the journal on.
  const db = openDatabase(join(tmp, 'lib.sqlite'));
  const lib = new LibraryService(db);
  await lib.scan(ours);
  const tracks = lib.tracks.list({ limit: N });
  const concurrency = Number(process.env['TAG_WRITE_CONCURRENCY'] ?? 16);
  const writer = new TagWriter({ db, tracks: lib.tracks, concurrency });
  let t = performance.now();
  const r = await writer.write(tracks.map((track) => ({ track, values: { genre: ['Jazz'], mood: ['calm'], caption: [CAPTION] } })), ['genre', 'mood', 'caption']);
  const oursS = (performance.now() - t) / 1000;
  const written = r.files.filter((f) => f.status === 'written').length;
  console.log(`musilingo tags write: ${written}/${tracks.length} files in ${oursS.toFixed(1)} s = ${(written / oursS).toFixed(1)} files/s (journal + temp copy + fsync + rename + read-back; ${concurrency} at once)`);
  t = performance.now();
  const u = await writer.undo(r.batchId!);
  const undoS = (performance.now() - t) / 1000;
  console.log(`musilingo tags undo:  ${u.files.filter((f) => f.status === 'written').length} files in ${undoS.toFixed(1)} s = ${(u.files.length / undoS).toFixed(1)} files/s`);
  db.close();

  // beets: import the identical copy without autotagging (not timed), then time `beet modify`.
  const beetsDir = join(tmp, 'beetsconf');
  mkdirSync(beetsDir);
  writeFileSync(join(beetsDir, 'config.yaml'), `directory: ${theirs}\nlibrary: ${join(tmp, 'beets.db')}\nimport:\n  copy: no\n  move: no\n  write: no\n  autotag: no\n  log: null\nplugins: []\n`);
  const env = { ...process.env, BEETSDIR: beetsDir };
  execFileSync('beet', ['import', '-A', '-q', theirs], { env, stdio: 'ignore' });
  t = performance.now();
  execFileSync('beet', ['modify', '-y', '-w', 'genre=Jazz', `comments=${CAPTION}`, 'mood=calm'], { env, stdio: 'ignore', maxBuffer: 1 << 26 });
  const beetsS = (performance.now() - t) / 1000;
  console.log(`beet modify -y -w:     ${N} files in ${beetsS.toFixed(1)} s = ${(N / beetsS).toFixed(1)} files/s (genre + comments into files, mood in its db only)`);
  console.log(`ratio musilingo/beets: ${(beetsS / oursS).toFixed(2)}x (>= 1 means at least as fast as beets)`);
  console.log(`caption-derived suggestion precision vs MusicCaps aspect lists: ${vocabularyPrecision(join(process.cwd(), 'test/fixtures/musiccaps-public.csv'))}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
