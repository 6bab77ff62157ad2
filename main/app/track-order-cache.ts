/**
 * @file The order of the library table's rows for one sort and filter, kept for deep scrolling (main process).
 *
 * [Note: Deep pages at 1,000,000 tracks]
 * A window at offset N is `ORDER BY … LIMIT 200 OFFSET N` over a sort index: SQLite walks the N index entries
 * before it, so a page in the middle of 1,000,000 tracks costs 10× the same page at 100,000 (bench/library-
 * table.ts: 40–85 ms against 10–30 ms). Past DEEP_OFFSET the table asks this cache instead: the ids of every
 * row in that order, read once in one walk of the index (4 bytes a row: 4 MB at 1,000,000), from which any
 * window is a slice. A genre's listing uses it for every page, and its length as the total: counting a
 * genre's rows (125,000 of 1,000,000) costs as much as reading its order once. The order is valid while library_counts' 'tracks-version' (0120: moved by triggers on
 * every write to tracks, from any connection) has not moved. It is built only when the version has not moved
 * since the previous deep request for that order — while a scan or tag edit is writing, each deep page keeps
 * using the plain OFFSET query instead of rebuilding a list that the next write makes stale.
 */

/** From which offset a window is served from the cached order. Above it the OFFSET walk outgrows the slice. */
export const DEEP_OFFSET = 20_000;

/** Orders kept at once (a few sorts and filters while the user browses; 4 MB each at 1,000,000 tracks). */
const MAX_ORDERS = 4;

interface Entry {
  readonly version: number;
  readonly ids: Int32Array;
}

/** Cached row orders of one connection's library table, keyed by sort, direction and filters. */
export class TrackOrderCache {
  readonly #orders = new Map<string, Entry>();
  /** Per order: the tracks version of the last deep request that found no current order. */
  readonly #asked = new Map<string, number>();

  /**
   * The ids of `key`'s order at `version`: the cached list, or one built by `build` when the version has not
   * moved since the previous request; null when the data is changing (the caller runs its OFFSET query).
   */
  order(key: string, version: number, build: () => Int32Array): Int32Array | null {
    const have = this.#orders.get(key);
    if (have && have.version === version) {
      this.#orders.delete(key); // most recently used last
      this.#orders.set(key, have);
      return have.ids;
    }
    if (this.#asked.get(key) !== version) {
      this.#asked.set(key, version);
      this.#orders.delete(key);
      return null;
    }
    const ids = build();
    this.#orders.set(key, { version, ids });
    for (const old of this.#orders.keys()) {
      if (this.#orders.size <= MAX_ORDERS) break;
      this.#orders.delete(old);
    }
    return ids;
  }

  /** Orders held (tests). */
  get size(): number {
    return this.#orders.size;
  }
}
