/**
 * @file Merging the search indexes' segments (tracks_fts, tracks_tags_fts) after bulk writes, in small steps.
 * See [Note: Merging the search index]. Main process and CLI (through LibraryService), bench and tests.
 */
import type Database from 'better-sqlite3';
import { readVarints } from './bm25';

// [Note: Merging the search index]
// FTS5 writes the rows of each transaction as a new segment and merges segments a few at a time (automerge), so
// an index filled by a big scan (200 files per transaction) is a stack of dozens of segments, and every search
// walks all of them side by side. At 1,000,000 tracks a search's doclist walks took about 40 % longer than over
// merged segments (bench/search.ts: the rowid walk of "sad piano" 0.46 → 0.27 ms; whole searches 10–20 %).
// So after a scan that wrote at least MERGE_AFTER_ROWS tracks, LibraryService merges both indexes with FTS5's
// 'merge' command and a negative page budget (every segment may merge, whatever its level), one short
// transaction per step with the event loop free in between, until a step does no work (total_changes() moves by
// less than 2, as FTS5's documentation says). A step writes about STEP_PAGES pages (tens of milliseconds);
// 1,000,000 tracks take about 10 s in all. Stopping between steps (the app quitting, Ctrl-C) leaves a valid,
// less merged index, and the next big scan goes on from there.

/** Tracks written by one scan (added, updated, moved or restored) from which the indexes are merged after it. */
export const MERGE_AFTER_ROWS = 10_000;

/** Pages of merged index one step writes, at most (FTS5's unit of work for 'merge'). */
export const STEP_PAGES = 250;

/** The FTS5 tables search reads, in the order they are merged. */
const TABLES = ['tracks_fts', 'tracks_tags_fts'] as const;

/** What {@link mergeSearchIndexes} did. */
export interface MergeResult {
  /** Steps that did work. */
  readonly steps: number;
  /** True when every index is merged; false when stopped first. */
  readonly complete: boolean;
}

/** One merge step of `table`; true when it did work (so another step may do more). */
export function mergeSearchIndexStep(db: Database.Database, table: (typeof TABLES)[number], pages = STEP_PAGES): boolean {
  const changes = db.prepare<[], number>('SELECT total_changes()').pluck();
  const before = changes.get()!;
  // The table name is one of TABLES, never user text; FTS5 commands name the table as a column.
  db.prepare(`INSERT INTO ${table} (${table}, rank) VALUES ('merge', ?)`).run(-Math.max(1, Math.floor(pages)));
  return changes.get()! - before >= 2;
}

/**
 * Merges every search index step by step until no step does work, handing the event loop back between steps
 * (`pause`, default setImmediate). Stops between steps when `signal` is aborted.
 */
export async function mergeSearchIndexes(
  db: Database.Database,
  opts: { signal?: AbortSignal; pages?: number; pause?: () => Promise<void> } = {},
): Promise<MergeResult> {
  const pause = opts.pause ?? (() => new Promise<void>((r) => setImmediate(r)));
  let steps = 0;
  for (const table of TABLES) {
    for (;;) {
      if (opts.signal?.aborted) return { steps, complete: false };
      if (!mergeSearchIndexStep(db, table, opts.pages)) break;
      steps++;
      await pause();
    }
  }
  return { steps, complete: true };
}

/**
 * Segments in `table`'s index, from FTS5's structure record (for tests and benches: how merged it is). The
 * record (fts5StructureDecode in fts5_index.c): a 4-byte cookie, the 4 bytes FF 00 00 01 when it is in the
 * V2 format, then varints: the number of levels, the number of segments, …
 */
export function countSegments(db: Database.Database, table: (typeof TABLES)[number]): number {
  const block = db.prepare<[], Buffer>(`SELECT block FROM ${table}_data WHERE id = 10`).pluck().get();
  if (!block || block.length < 6) return 0;
  const v2 = block.subarray(4, 8).equals(Buffer.from([0xff, 0x00, 0x00, 0x01]));
  return readVarints(block.subarray(v2 ? 8 : 4))[1] ?? 0; // [levels, segments, …]
}
