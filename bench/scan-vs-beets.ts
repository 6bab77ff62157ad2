/**
 * @file Benchmark: scanning real MP3 and FLAC files against beets. Makes a library of N files (default 2,000,
 * half MP3, half FLAC, 30 s tones, 10 per album folder, full tags: title, artist, album, album artist, track
 * and disc numbers, year, genre): ffmpeg encodes one file per format and tone, python3-mutagen copies them and
 * writes each file's tags. Then it times on the same folder, cold database each time:
 *   - ours: LibraryService.scan into a fresh database (what `musilingo scan` does);
 *   - the anchor: beets 1.6 `beet import -A -q` (autotag off, no copy, no move, no write; its own fresh
 *     library), which reads the same tags with mutagen and stores them in SQLite.
 * Prints both times, our files/s and the ratio. Needs ffmpeg, python3-mutagen and beets (Debian: `apt-get install ffmpeg beets`, which brings
 * python3-mutagen);
 * prints a skip line when either is missing and installs nothing.
 *
 * Usage: npm run bench -- scan-vs-beets [files=2000]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../main/db/open';
import { LibraryService } from '../main/library/library-service';

const N = Number(process.argv[2] ?? 2000);
const PER_ALBUM = 10;
const GENRES = ['Rock', 'Pop', 'Jazz', 'Classical', 'Folk', 'Blues'];

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}… failed (${r.status}): ${r.stderr?.slice(-2000)}`);
}

// The Python that has mutagen: Debian's (beets' own) before whatever `python3` is first on PATH.
const PYTHON = ['/usr/bin/python3', 'python3'].find((py) => has(py, ['-c', 'import mutagen']));
if (!has('ffmpeg', ['-version']) || !has('beet', ['version']) || !PYTHON) {
  console.log('scan-vs-beets: SKIPPED — needs ffmpeg, beets and python3-mutagen (Debian: apt-get install ffmpeg beets); nothing measured');
  process.exit(0);
}

const tmp = mkdtempSync(join(tmpdir(), 'musilingo-bench-beets-'));
try {
  console.log(`scan-vs-beets on ${cpus().length} cores (shared with other work: compare the ratio, not absolutes)`);
  const root = join(tmp, 'music');
  const bases = join(tmp, 'bases');
  mkdirSync(bases, { recursive: true });
  let t = performance.now();
  // One 30 s encode per format and tone; each file is a stream copy of one with its own tags.
  const TONES = 8;
  for (let k = 0; k < TONES; k++) {
    for (const [ext, codec] of [['mp3', ['-c:a', 'libmp3lame', '-b:a', '128k']], ['flac', ['-c:a', 'flac']]] as const) {
      run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${220 + 55 * k}:sample_rate=44100:duration=30`, '-ac', '2', ...codec, join(bases, `${k}.${ext}`)]);
    }
  }
  // Tagging: one ffmpeg per file takes minutes; one Python process copies the encodes and writes each file's
  // tags with mutagen (which beets itself depends on): ID3v2.4 for MP3, Vorbis comments for FLAC.
  const files = Array.from({ length: N }, (_, i) => {
    const album = Math.floor(i / PER_ALBUM);
    const ext = album % 2 === 0 ? 'mp3' : 'flac';
    const track = (i % PER_ALBUM) + 1;
    return {
      src: join(bases, `${i % TONES}.${ext}`),
      dst: join(root, `Artist ${album % 41}`, `Album ${album}`, `${String(track).padStart(2, '0')} Song ${i}.${ext}`),
      tags: {
        title: `Song ${i}`,
        artist: `Artist ${album % 41}`,
        album: `Album ${album}`,
        albumartist: `Artist ${album % 41}`,
        tracknumber: `${track}/${PER_ALBUM}`,
        discnumber: '1/1',
        date: String(1970 + (album % 50)),
        genre: GENRES[album % GENRES.length]!,
      },
    };
  });
  writeFileSync(join(tmp, 'files.json'), JSON.stringify(files));
  writeFileSync(
    join(tmp, 'tag.py'),
    [
      'import json, os, shutil, sys',
      'from mutagen.easyid3 import EasyID3',
      'from mutagen.flac import FLAC',
      'from mutagen.id3 import ID3, ID3NoHeaderError',
      'for f in json.load(open(sys.argv[1])):',
      '    os.makedirs(os.path.dirname(f["dst"]), exist_ok=True)',
      '    shutil.copyfile(f["src"], f["dst"])',
      '    if f["dst"].endswith(".mp3"):',
      '        try:',
      '            ID3(f["dst"])',
      '        except ID3NoHeaderError:',
      '            ID3().save(f["dst"])',
      '        t = EasyID3(f["dst"])',
      '    else:',
      '        t = FLAC(f["dst"])',
      '    for k, v in f["tags"].items():',
      '        t[k] = v',
      '    t.save()',
      '',
    ].join('\n'),
  );
  run(PYTHON, [join(tmp, 'tag.py'), join(tmp, 'files.json')]);
  console.log(`generated ${N} files (${N / 2} MP3, ${N / 2} FLAC, 30 s each) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Ours: a fresh database, the whole folder.
  const db = openDatabase(join(tmp, 'lib.sqlite'));
  const lib = new LibraryService(db);
  t = performance.now();
  const s = await lib.scan(lib.addFolder(root).id);
  const oursS = (performance.now() - t) / 1000;
  db.close();
  if (s.added !== N || s.errors) throw new Error(`expected ${N} added and no errors, got ${JSON.stringify(s)}`);

  // Anchor: beets with its own fresh library and config (no copy, move or write; autotag off; quiet).
  const beetsDir = join(tmp, 'beets');
  mkdirSync(beetsDir, { recursive: true });
  writeFileSync(
    join(beetsDir, 'config.yaml'),
    [`directory: ${join(tmp, 'beets-out')}`, `library: ${join(beetsDir, 'library.db')}`, 'plugins: []', 'import:', '  copy: no', '  move: no', '  write: no', '  autotag: no', '  quiet: yes', '  log: null', ''].join('\n'),
  );
  const env = { ...process.env, BEETSDIR: beetsDir };
  t = performance.now();
  run('beet', ['-c', join(beetsDir, 'config.yaml'), 'import', '-A', '-q', root], env);
  const beetsS = (performance.now() - t) / 1000;
  const counted = spawnSync('beet', ['-c', join(beetsDir, 'config.yaml'), 'ls', '-f', '$path'], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  const beetsN = counted.stdout.split('\n').filter(Boolean).length;

  console.log(`ours (LibraryService.scan, fresh db):  ${oursS.toFixed(2)} s = ${Math.round(N / oursS)} files/s  (target >= 2000 files/s)`);
  console.log(`anchor beets 1.6 \`beet import -A -q\`:  ${beetsS.toFixed(2)} s for ${beetsN} files`);
  console.log(`ratio beets/ours: ${(beetsS / oursS).toFixed(2)}x  (target >= 3x)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
