/**
 * @file Benchmark: scanning real MP3 and FLAC files against beets. Makes a library of N files (default 2,000,
 * half MP3, half FLAC, 30 s tones, 10 per album folder, full tags: title, artist, album, album artist, track
 * and disc numbers, year, genre): ffmpeg encodes one file per format and tone, python3-mutagen copies them and
 * writes each file's tags. Then it times on the same folder, cold database each time:
 *   - ours: LibraryService.scan into a fresh database (what `musilingo scan` does);
 *   - the anchor: beets 1.6 `beet import -A -q` (autotag off, no copy, no move, no write; its own fresh
 *     library), which reads the same tags with mutagen and stores them in SQLite.
 * Prints both times and files/s, the ratio, and whether the goals are met (>= 3x beets, >= 2,000 files/s); also
 * our scan reading in the main thread only (scanThreads: 0, run second, so with a warm JIT) and the CPU time of
 * each of ours. Builds the CLI bundle first (the scan threads run its scan.thread.mjs). Needs ffmpeg,
 * python3-mutagen and beets (Debian: `apt-get install ffmpeg beets`, which brings python3-mutagen); prints a
 * skip line when one is missing and installs nothing.
 *
 * Usage: npm run bench -- scan-vs-beets [files=2000]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { openDatabase } from '../main/db/open';
import { DEFAULT_SCAN_THREADS, LibraryService } from '../main/library/library-service';

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

// The scan threads run the CLI bundle's scan.thread.mjs: build it so it matches the code under test.
const ROOT = process.cwd(); // bench/run.mjs runs benches in the repository root
const build = spawnSync('npm', ['run', 'build:cli'], { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build:cli failed: ${build.stderr.slice(-2000)}`);
const SCAN_THREAD = pathToFileURL(join(ROOT, 'out', 'cli', 'scan.thread.mjs'));

/** One scan of `root` into a fresh database at `dbPath`: wall and CPU time (every thread of this process). */
async function scanOnce(dbPath: string, root: string, opts: { scanThreads?: number }): Promise<{ wallS: number; cpuS: number; threads: number }> {
  const db = openDatabase(dbPath);
  const lib = new LibraryService(db, { ...opts, scanThreadEntry: SCAN_THREAD });
  const folder = lib.addFolder(root);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s = await lib.scan(folder.id);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  db.close();
  if (s.added !== N || s.errors) throw new Error(`expected ${N} added and no errors, got ${JSON.stringify(s)}`);
  return { wallS, cpuS: (cpu.user + cpu.system) / 1e6, threads: opts.scanThreads ?? DEFAULT_SCAN_THREADS };
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
  // The kernel writes the new files back to disk in the background for half a minute: during our scan, which
  // comes first, but not during beets'. Flushed here, every timing below starts from the same quiet disk.
  spawnSync('sync');

  // Ours: a fresh database, the whole folder, as `musilingo scan` runs it (scan threads from the CLI bundle,
  // built above), then once more reading in the main thread only (scanThreads: 0), for the record.
  const ours = await scanOnce(join(tmp, 'lib.sqlite'), root, {});
  const inThread = await scanOnce(join(tmp, 'lib-in-thread.sqlite'), root, { scanThreads: 0 });
  const oursS = ours.wallS;

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

  const ratio = beetsS / oursS;
  const filesPerS = N / oursS;
  const beetsRate = beetsN / beetsS;
  console.log(`ours (LibraryService.scan, fresh db, ${ours.threads} scan thread(s)): ${oursS.toFixed(2)} s = ${Math.round(filesPerS)} files/s (CPU ${ours.cpuS.toFixed(2)} s, all threads)`);
  console.log(`ours reading in the main thread only (scanThreads: 0, run second):${inThread.wallS.toFixed(2)} s = ${Math.round(N / inThread.wallS)} files/s (CPU ${inThread.cpuS.toFixed(2)} s)`);
  console.log(`anchor beets 1.6 \`beet import -A -q\`:                      ${beetsS.toFixed(2)} s = ${Math.round(beetsRate)} files/s for ${beetsN} files`);
  console.log(`ratio beets/ours: ${ratio.toFixed(2)}x`);
  console.log(`goal >= 3x beets' time:   ${ratio >= 3 ? 'MET' : 'NOT MET'} (${ratio.toFixed(2)}x)`);
  console.log(`goal >= 2,000 files/s:    ${filesPerS >= 2000 ? 'MET' : 'NOT MET'} (${Math.round(filesPerS)} files/s)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
