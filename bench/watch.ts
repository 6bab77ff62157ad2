/**
 * @file Benchmark: watching a large library. Start-up time and memory of the watcher on a tree of N files
 * (default 100,000 in 1,000 folders), beside an unchanged rescan of the same tree in the same run (the work
 * `musilingo watch` does first, and the anchor for the ratio). Memory is the growth of the resident set and of
 * the JS heap over each step. See [Note: One watch per real folder] in main/library/watch.ts.
 *
 * Usage: npm run bench -- watch [files=100000]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../main/db/open';
import { TracksRepo } from '../main/db/tracks';
import { nodeFs } from '../main/library/fs';
import { LibraryService } from '../main/library/library-service';
import { LibraryWatcher } from '../main/library/watch';
import { walkFolder } from '../main/library/walk';
import { metaOf } from '../test/helpers/musiccaps';

const N = Number(process.argv[2] ?? 100_000);
const PER_FOLDER = 100;

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const delta = (bytes: number): string => `${bytes >= 0 ? '+' : '-'}${mb(Math.abs(bytes))}`;

function memory(): { rss: number; heap: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

const tmp = mkdtempSync(join(tmpdir(), 'musilingo-bench-watch-'));
try {
  console.log(`watch bench on ${cpus().length} cores (shared with other work: compare ratios, not absolutes)`);
  const root = join(tmp, 'music');
  let t = performance.now();
  for (let d = 0; d < Math.ceil(N / PER_FOLDER); d++) {
    const dir = join(root, `Artist ${d % 37}`, `Album ${d}`);
    mkdirSync(dir, { recursive: true });
    for (let i = d * PER_FOLDER; i < Math.min(N, (d + 1) * PER_FOLDER); i++) writeFileSync(join(dir, `${i % PER_FOLDER} Song ${i}.wav`), `RIFF${i}`);
  }
  console.log(`generated ${N} files in ${Math.ceil(N / PER_FOLDER)} folders in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // The library as after a first scan (rows inserted directly: the bench measures watching, not parsing).
  const db = openDatabase(join(tmp, 'lib.sqlite'));
  const lib = new LibraryService(db);
  const folder = lib.addFolder(root);
  const files = (await walkFolder(root, { fs: nodeFs })).files;
  const tracks = new TracksRepo(db);
  db.transaction(() => files.forEach((f, i) => tracks.insert({ ...f, folderId: folder.id, fingerprint: `fp${i}` }, metaOf({ title: `t${i}` }), 0)))();

  // Anchor: an unchanged rescan of the tree.
  let m0 = memory();
  t = performance.now();
  const s = await lib.scan(folder.id);
  const scanS = (performance.now() - t) / 1000;
  let m1 = memory();
  if (s.unchanged !== N) throw new Error(`expected ${N} unchanged, got ${JSON.stringify(s)}`);
  console.log(`unchanged rescan: ${N} files in ${scanS.toFixed(2)} s; RSS ${delta(m1.rss - m0.rss)}, heap ${delta(m1.heap - m0.heap)}`);

  // The watcher's start-up: one native watch per folder, nothing per file.
  m0 = memory();
  t = performance.now();
  const watcher = new LibraryWatcher(() => undefined, (e) => console.error(e.message));
  await watcher.add([root]);
  const watchS = (performance.now() - t) / 1000;
  m1 = memory();
  console.log(`watch start-up:   ${watcher.watchedFolders} folders (${N} files) in ${watchS.toFixed(2)} s; RSS ${delta(m1.rss - m0.rss)}, heap ${delta(m1.heap - m0.heap)}; total RSS ${mb(m1.rss)}`);
  console.log(`  watch/rescan time ratio ${(watchS / scanS).toFixed(2)}`);
  await watcher.close();
  db.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
