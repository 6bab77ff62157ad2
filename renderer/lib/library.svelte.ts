/**
 * @file Library table state (renderer process): the query (search text, sort, filters), the total row count
 * and a block cache of rows fetched on demand for the visible range, so 100,000 tracks cost only the rows
 * on screen.
 */
import type { TrackQuery, TrackRow, TrackSortKey } from '../../preload/contract';
import { call, errorMessage, isUnavailable } from './api';

/** Rows fetched per request. */
export const BLOCK_SIZE = 200;

// [Note: Block cache for the virtual table]
// The table asks for rows by index. Rows live in blocks of BLOCK_SIZE keyed by block number; a missing block
// is fetched once (in-flight blocks are remembered) and a new query (text, sort, filter) bumps `generation`,
// which drops the cache and makes late answers of the old query harmless. Only blocks near the visible range
// are kept, so memory stays flat while scrolling through a huge library.

/** The library's query, row count and row cache. */
export class LibraryState {
  text = $state('');
  sort = $state<TrackSortKey>('title');
  direction = $state<'asc' | 'desc'>('asc');
  genre = $state('');
  captioned = $state<boolean | null>(null);
  total = $state<number | null>(null);
  genres = $state<string[]>([]);
  error = $state('');
  isUnavailable = $state(false);
  /** Index of the keyboard-selected row. */
  activeIndex = $state(0);
  /** block number → rows; replaced (not mutated) so readers re-run. */
  blocks = $state<Map<number, TrackRow[]>>(new Map());

  private generation = 0;
  private inFlight = new Set<number>();

  /** The query without the window. */
  private query(offset: number, limit: number): TrackQuery {
    return { text: this.text, sort: this.sort, direction: this.direction, genre: this.genre, captioned: this.captioned, offset, limit };
  }

  /** The row at `index`, or undefined while its block loads. */
  row(index: number): TrackRow | undefined {
    return this.blocks.get(Math.floor(index / BLOCK_SIZE))?.[index % BLOCK_SIZE];
  }

  /** Drops cached rows and reloads the first block (after any query change or a library change). */
  async reload(): Promise<void> {
    this.generation++;
    this.inFlight.clear();
    this.blocks = new Map();
    await this.fetchBlock(0);
  }

  /**
   * Refetches the rows in view without losing the scroll position (library:changed): the old rows stay on
   * screen until their replacements arrive.
   */
  async refresh(first: number, last: number): Promise<void> {
    this.generation++;
    this.inFlight.clear();
    const wanted = this.blockRange(first, Math.min(last, Math.max(0, (this.total ?? 1) - 1)));
    await Promise.all(wanted.map((b) => this.fetchBlock(b)));
  }

  /** Makes sure rows first..last are (being) loaded and evicts far-away blocks. */
  ensure(first: number, last: number): void {
    const wanted = this.blockRange(first, last);
    for (const b of wanted) if (!this.blocks.has(b)) void this.fetchBlock(b);
    if (this.blocks.size > 12) {
      const lo = (wanted[0] ?? 0) - 3;
      const hi = (wanted.at(-1) ?? 0) + 3;
      this.blocks = new Map([...this.blocks].filter(([b]) => b >= lo && b <= hi));
    }
  }

  private blockRange(first: number, last: number): number[] {
    const out: number[] = [];
    for (let b = Math.floor(Math.max(0, first) / BLOCK_SIZE); b <= Math.floor(Math.max(0, last) / BLOCK_SIZE); b++) out.push(b);
    return out;
  }

  private async fetchBlock(block: number): Promise<void> {
    if (this.inFlight.has(block)) return;
    const generation = this.generation;
    this.inFlight.add(block);
    try {
      const page = await call('library:list', this.query(block * BLOCK_SIZE, BLOCK_SIZE));
      if (generation !== this.generation) return;
      this.total = page.total;
      this.error = '';
      this.isUnavailable = false;
      const next = new Map(this.blocks);
      next.set(block, page.rows);
      this.blocks = next;
      if (this.activeIndex >= page.total) this.activeIndex = Math.max(0, page.total - 1);
    } catch (e) {
      if (generation !== this.generation) return;
      this.isUnavailable = isUnavailable(e);
      this.error = errorMessage(e);
    } finally {
      if (generation === this.generation) this.inFlight.delete(block);
    }
  }

  /** True once the user picked a column to sort by; until then a search sorts by relevance. */
  private hasUserSort = false;

  /** Sets the search text: best matches first while searching, unless the user chose a column. */
  search(text: string): void {
    this.text = text;
    if (!this.hasUserSort) {
      this.sort = text ? 'relevance' : 'title';
      this.direction = 'asc';
    }
    this.activeIndex = 0;
    void this.reload();
  }

  /** Sorts by `key`; the same key again flips the direction. */
  sortBy(key: TrackSortKey): void {
    this.hasUserSort = true;
    if (this.sort === key) this.direction = this.direction === 'asc' ? 'desc' : 'asc';
    else {
      this.sort = key;
      this.direction = 'asc';
    }
    this.activeIndex = 0;
    void this.reload();
  }

  /** Loads the genre filter's options. */
  async loadGenres(): Promise<void> {
    try {
      this.genres = await call('library:genres');
    } catch {
      this.genres = [];
    }
  }
}
