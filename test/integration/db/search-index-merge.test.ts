/**
 * @file Merging the search indexes after bulk writes (main/db/search-index-merge.ts, LibraryService): the
 * segments a scan of many small transactions leaves are merged step by step, searches return the same hits,
 * a stopped merge leaves a valid index, and a big scan merges on its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { SearchRepo } from '../../../main/db/search';
import { countSegments, mergeSearchIndexes, mergeSearchIndexStep } from '../../../main/db/search-index-merge';
import { TracksRepo } from '../../../main/db/tracks';
import { LibraryService } from '../../../main/library/library-service';
import { makeWav, tempDir } from '../../helpers/library-audio';
import { metaOf } from '../../helpers/musiccaps';

const WORDS = ['piano', 'drums', 'guitar', 'violin', 'choir', 'bass', 'synth', 'flute'];
let db: Database.Database;

/** Tracks inserted in many small transactions, as a scan writes them: each leaves its own index segment. */
function fill(n: number, perTransaction: number): void {
  const tracks = new TracksRepo(db);
  const caption = db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 10000, 'm', ?, 0)");
  for (let start = 0; start < n; start += perTransaction) {
    db.transaction(() => {
      for (let i = start; i < Math.min(n, start + perTransaction); i++) {
        const id = tracks.insert(
          { path: `/m/${i}.flac`, folderId: null, sizeBytes: i, mtimeMs: 0, fingerprint: `fp${i}` },
          metaOf({ title: `${WORDS[i % 8]} song ${i}`, artist: `Artist ${i % 13}`, genre: 'Jazz', genres: ['Jazz'] }),
          0,
        );
        caption.run(id, `A ${WORDS[(i * 3) % 8]} and ${WORDS[(i * 5) % 8]} piece with a slow ${WORDS[(i * 7) % 8]} line.`);
      }
    })();
  }
}

const QUERIES = ['piano', 'drums guitar', 'vio', 'slow line', 'choir song'];
const results = (): string => JSON.stringify(QUERIES.map((text) => new SearchRepo(db, { rankWindow: 50 }).search({ text, limit: 30 }).map((h) => [h.id, h.score.toFixed(9), h.snippet])));
const integrity = (): void => {
  db.exec("INSERT INTO tracks_fts (tracks_fts, rank) VALUES ('integrity-check', 1)");
  db.exec("INSERT INTO tracks_tags_fts (tracks_tags_fts, rank) VALUES ('integrity-check', 1)");
};

beforeEach(() => {
  db = openDatabase(':memory:');
});
afterEach(() => db.close());

describe('merging the search index', () => {
  it('merges the segments of many small transactions into one, with the same search results', async () => {
    fill(3000, 25);
    const before = { fts: countSegments(db, 'tracks_fts'), tags: countSegments(db, 'tracks_tags_fts') };
    expect(before.fts).toBeGreaterThan(4);
    expect(before.tags).toBeGreaterThan(4);
    const hits = results();
    let pauses = 0;
    const r = await mergeSearchIndexes(db, { pages: 20, pause: async () => void pauses++ });
    expect(r.complete).toBe(true);
    expect(r.steps).toBeGreaterThan(2); // in steps, handing the event loop back between them
    expect(pauses).toBe(r.steps);
    expect(countSegments(db, 'tracks_fts')).toBe(1);
    expect(countSegments(db, 'tracks_tags_fts')).toBe(1);
    integrity();
    expect(results()).toBe(hits);
    // Nothing left to do: another run does no step.
    expect((await mergeSearchIndexes(db)).steps).toBe(0);
  });

  it('stops between steps when aborted, leaving a valid index that a later merge finishes', async () => {
    fill(2000, 20);
    const hits = results();
    const stop = new AbortController();
    const r = await mergeSearchIndexes(db, { pages: 10, signal: stop.signal, pause: async () => stop.abort() });
    expect(r).toEqual({ steps: 1, complete: false });
    integrity();
    expect(results()).toBe(hits);
    expect(countSegments(db, 'tracks_fts')).toBeGreaterThan(1);
    while (mergeSearchIndexStep(db, 'tracks_fts', 10)) { /* finish */ }
    expect(countSegments(db, 'tracks_fts')).toBe(1);
    expect(results()).toBe(hits);
  });

  it('runs after a scan that wrote enough tracks, and not after a small one', async () => {
    const tmp = tempDir();
    try {
      const root = join(tmp.dir, 'music');
      mkdirSync(root);
      for (let i = 0; i < 60; i++) writeFileSync(join(root, `${i}.wav`), makeWav({ freqHz: 200 + i, samples: 800, tags: { INAM: `${WORDS[i % 8]} ${i}` } }));
      const merged: { steps: number; complete: boolean }[] = [];
      const small = new LibraryService(db, { batchSize: 3, scanThreads: 0, mergeIndexAfterRows: 61 });
      small.on('index-merged', (e) => merged.push(e));
      await small.scan(root);
      await small.idle();
      expect(merged).toEqual([]);
      const segments = countSegments(db, 'tracks_fts');
      expect(segments).toBeGreaterThan(1);
      // Touch every file so a rescan writes all 60 tracks again, with a service whose threshold they reach.
      for (let i = 0; i < 60; i++) writeFileSync(join(root, `${i}.wav`), makeWav({ freqHz: 300 + i, samples: 800, tags: { INAM: `${WORDS[i % 8]} ${i} again` } }));
      const big = new LibraryService(db, { batchSize: 3, scanThreads: 0, mergeIndexAfterRows: 60 });
      big.on('index-merged', (e) => merged.push(e));
      const s = await big.scan(root);
      expect(s.updated).toBe(60);
      await big.idle();
      expect(merged).toHaveLength(1);
      expect(merged[0]).toMatchObject({ complete: true });
      expect(merged[0]!.steps).toBeGreaterThan(0);
      expect(countSegments(db, 'tracks_fts')).toBe(1);
      integrity();
      expect(big.search.search({ text: 'again', limit: 100 })).toHaveLength(60);
    } finally {
      tmp.cleanup();
    }
  });
});
