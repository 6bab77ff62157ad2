/**
 * @file Benchmark: library scanning. (1) Initial scan of N distinct generated WAV files (default 10,000, in
 * 100 folders, each with its own tags and bytes) in files/s, against a baseline in the same run: listing and
 * fingerprinting the same files without parsing or writing (the I/O floor). (2) Rescan of the unchanged
 * library (stat only). (3) Rescan of an unchanged library of M files (default 100,000; rows are inserted
 * directly so the bench does not wait for M parses) against a baseline of a bare readdir + stat walk.
 *
 * Usage: npm run bench -- scan [files=10000] [rescanFiles=100000]   (SCAN_CONCURRENCY=n: files read at once, default 8)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../main/db/open';
import { TracksRepo } from '../main/db/tracks';
import { fingerprintFile } from '../main/library/fingerprint';
import { nodeFs } from '../main/library/fs';
import { LibraryService } from '../main/library/library-service';
import { walkFolder } from '../main/library/walk';
import { makeWav } from '../test/helpers/library-audio';
import { metaOf } from '../test/helpers/musiccaps';

const N = Number(process.argv[2] ?? 10_000);
const M = Number(process.argv[3] ?? 100_000);
const CONCURRENCY = Number(process.env['SCAN_CONCURRENCY'] ?? 8);
const GENRES = ['Rock', 'Pop', 'Jazz', 'Classical', 'Folk'];

function writeLibrary(root: string, n: number, tiny: boolean): void {
  for (let d = 0; d < Math.ceil(n / 100); d++) {
    const dir = join(root, `Artist ${d % 37}`, `Album ${d}`);
    mkdirSync(dir, { recursive: true });
    for (let i = d * 100; i < Math.min(n, (d + 1) * 100); i++) {
      const data = tiny
        ? Buffer.from(`RIFF${i}`)
        : makeWav({ samples: 400 + (i % 50), freqHz: 100 + (i % 900), tags: { INAM: `Song ${i}`, IART: `Artist ${d % 37}`, IPRD: `Album ${d}`, IGNR: GENRES[i % 5]!, ICRD: String(1970 + (i % 50)), ITRK: String((i % 100) + 1) } });
      writeFileSync(join(dir, `${String(i % 100).padStart(2, '0')} Song ${i}.wav`), data);
    }
  }
}

async function bareWalk(dir: string): Promise<number> {
  let n = 0;
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) n += await bareWalk(p);
    else {
      await stat(p);
      n++;
    }
  }
  return n;
}

const tmp = mkdtempSync(join(tmpdir(), 'musilingo-bench-scan-'));
try {
  console.log(`scan bench on ${cpus().length} cores (shared with other work: compare ratios, not absolutes)`);
  const root = join(tmp, 'music');
  let t = performance.now();
  writeLibrary(root, N, false);
  console.log(`generated ${N} WAV files in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Baseline: list + fingerprint (the reads every scan must do), no parsing, no database.
  t = performance.now();
  const walk = await walkFolder(root, { fs: nodeFs });
  for (let i = 0; i < walk.files.length; i += 16) {
    await Promise.all(walk.files.slice(i, i + 16).map((f) => fingerprintFile(nodeFs, f.path, f.sizeBytes)));
  }
  const baseS = (performance.now() - t) / 1000;

  const db = openDatabase(join(tmp, 'lib.sqlite'));
  const lib = new LibraryService(db, { concurrency: CONCURRENCY });
  t = performance.now();
  const s = await lib.scan(root);
  const scanS = (performance.now() - t) / 1000;
  if (s.added !== N || s.errors) throw new Error(`expected ${N} added and no errors, got ${JSON.stringify(s)}`);
  console.log(`initial scan:   ${N} files in ${scanS.toFixed(2)} s = ${Math.round(N / scanS)} files/s  (target >= 2000)`);
  console.log(`  baseline list+fingerprint only: ${baseS.toFixed(2)} s = ${Math.round(N / baseS)} files/s; scan/baseline time ratio ${(scanS / baseS).toFixed(2)}`);

  t = performance.now();
  const r = await lib.scan(root);
  const rescanS = (performance.now() - t) / 1000;
  if (r.unchanged !== N) throw new Error(`expected ${N} unchanged, got ${JSON.stringify(r)}`);
  console.log(`unchanged rescan: ${N} files in ${rescanS.toFixed(2)} s (${((rescanS * 1e6) / N).toFixed(0)} µs/file)`);
  db.close();

  if (M > 0) {
    const big = join(tmp, 'big');
    t = performance.now();
    writeLibrary(big, M, true);
    const genS = (performance.now() - t) / 1000;
    const bigDb = openDatabase(join(tmp, 'big.sqlite'));
    const bigLib = new LibraryService(bigDb);
    const folder = bigLib.addFolder(big);
    const files = (await walkFolder(big, { fs: nodeFs })).files;
    const tracks = new TracksRepo(bigDb);
    bigDb.transaction(() => {
      files.forEach((f, i) => tracks.insert({ ...f, folderId: folder.id, fingerprint: `fp${i}` }, metaOf({ title: `t${i}` }), 0));
    })();
    t = performance.now();
    const bare = await bareWalk(big);
    const bareS = (performance.now() - t) / 1000;
    t = performance.now();
    const rs = await bigLib.scan(folder.id);
    const bigS = (performance.now() - t) / 1000;
    if (rs.unchanged !== M || bare !== M) throw new Error(`expected ${M} unchanged, got ${JSON.stringify(rs)} (bare walk ${bare})`);
    console.log(`unchanged rescan: ${M} files in ${bigS.toFixed(2)} s (target < 5 s); generated in ${genS.toFixed(1)} s`);
    console.log(`  baseline bare readdir+stat walk: ${bareS.toFixed(2)} s; rescan/baseline ratio ${(bigS / bareS).toFixed(2)}`);
    bigDb.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
