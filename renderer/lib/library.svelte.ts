/**
 * @file Library table state (renderer process): the query (search text, sort, filters), the total row count
 * and a block cache of rows fetched on demand for the visible range, so 100,000 tracks cost only the rows
 * on screen.
 */
import { SvelteSet } from 'svelte/reactivity';
import type { LibraryColumn, LibraryView, TrackQuery, TrackRow, TrackSortKey } from '../../preload/contract';
import { call, errorMessage, isUnavailable } from './api';

/** Rows fetched per request. */
export const BLOCK_SIZE = 200;

// [Note: Block cache for the virtual table]
// The table asks for rows by index. Rows live in blocks of BLOCK_SIZE keyed by block number; a missing block
// is fetched once (in-flight blocks are remembered) and a new query (text, sort, filter) bumps `generation`,
// which drops the cache and makes late answers of the old query harmless. Only blocks near the visible range
// are kept, so memory stays flat while scrolling through a huge library.

// [Note: The Library view outlives the page]
// One LibraryState lives in AppState for the whole session, so opening a track and going Back finds the same
// query, selection and scroll anchor (the page component is re-created; this object is not). Every change is
// also saved through library:save-view (debounced), and the first mount after a start restores it, so a
// restart puts the user back where they were.

/** How long changes settle before the view is saved. */
const SAVE_DELAY_MS = 300;

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
  /** Index of the keyboard-active row. */
  activeIndex = $state(0);
  /** Index of the first row in view: the table scrolls back to it when it is shown again. */
  anchorIndex = $state(0);
  /** Selected track ids (click, Shift/Ctrl+click, Shift/Ctrl+arrows, Ctrl+A). */
  selected = new SvelteSet<number>();
  /** Index the next Shift-selection extends from. */
  selectionAnchor = $state(0);
  /** Track and Disc are off until the user turns them on. */
  hiddenColumns = $state<LibraryColumn[]>(['trackNo', 'discNo']);
  columnWidths = $state<Partial<Record<LibraryColumn, number>>>({});
  /** True once the stored view has been read (or found missing). */
  isRestored = $state(false);
  /** True once the user picked a column to sort by; until then a search sorts by relevance. */
  isUserSort = false;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #initialized = false;
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
    this.#pendingSelect = null;
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
      const pending = this.#pendingSelect;
      if (pending !== null && Math.floor(pending / BLOCK_SIZE) === block) {
        this.#pendingSelect = null;
        const row = page.rows[pending % BLOCK_SIZE];
        if (row) this.selected.add(row.id);
      }
      if (this.activeIndex >= page.total) this.activeIndex = Math.max(0, page.total - 1);
    } catch (e) {
      if (generation !== this.generation) return;
      this.isUnavailable = isUnavailable(e);
      this.error = errorMessage(e);
    } finally {
      if (generation === this.generation) this.inFlight.delete(block);
    }
  }

  /** Sets the search text: best matches first while searching, unless the user chose a column. */
  search(text: string): void {
    this.text = text;
    if (!this.isUserSort) {
      this.sort = text ? 'relevance' : 'title';
      this.direction = 'asc';
    }
    this.activeIndex = 0;
    this.anchorIndex = 0;
    this.saveSoon();
    void this.reload();
  }

  /** Sorts by `key`; the same key again flips the direction. */
  sortBy(key: TrackSortKey): void {
    this.isUserSort = true;
    if (this.sort === key) this.direction = this.direction === 'asc' ? 'desc' : 'asc';
    else {
      this.sort = key;
      this.direction = 'asc';
    }
    this.activeIndex = 0;
    this.anchorIndex = 0;
    this.saveSoon();
    void this.reload();
  }

  /** Sets the genre and caption filters (undefined = unchanged). */
  filter(f: { genre?: string; captioned?: boolean | null }): void {
    if (f.genre !== undefined) this.genre = f.genre;
    if (f.captioned !== undefined) this.captioned = f.captioned;
    this.activeIndex = 0;
    this.anchorIndex = 0;
    this.saveSoon();
    void this.reload();
  }

  /**
   * First mount: restores the stored view, then loads rows. Later mounts (Back from a track): the query and
   * rows are still here, so only the rows in view are refreshed.
   */
  async init(): Promise<void> {
    if (this.#initialized) {
      await this.refresh(Math.max(0, this.anchorIndex - 50), this.anchorIndex + 150);
      return;
    }
    this.#initialized = true;
    try {
      const view = await call('library:get-view');
      if (view) this.restore(view);
    } catch {
      // No stored view (or no backend for it): start from the defaults.
    }
    this.isRestored = true;
    await this.reload();
  }

  /** The view as stored. */
  snapshot(): LibraryView {
    return {
      text: this.text,
      sort: this.sort,
      direction: this.direction,
      genre: this.genre,
      captioned: this.captioned,
      isUserSort: this.isUserSort,
      activeIndex: this.activeIndex,
      anchorIndex: this.anchorIndex,
      selectedIds: [...this.selected],
      hiddenColumns: [...this.hiddenColumns],
      columnWidths: { ...this.columnWidths },
    };
  }

  private restore(v: LibraryView): void {
    this.text = v.text;
    this.sort = v.sort;
    this.direction = v.direction;
    this.genre = v.genre;
    this.captioned = v.captioned;
    this.isUserSort = v.isUserSort;
    this.activeIndex = v.activeIndex;
    this.anchorIndex = v.anchorIndex;
    this.selectionAnchor = v.activeIndex;
    this.selected.clear();
    for (const id of v.selectedIds) this.selected.add(id);
    this.hiddenColumns = [...v.hiddenColumns];
    this.columnWidths = { ...v.columnWidths };
  }

  /** Saves the view once changes settle (scrolling and typing change it many times a second). */
  saveSoon(): void {
    if (!this.isRestored) return;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = setTimeout(() => {
      call('library:save-view', this.snapshot()).catch(() => undefined);
    }, SAVE_DELAY_MS);
  }

  /** Track ids of rows from..to (inclusive) of the current query, from the cache when loaded. */
  async idsBetween(from: number, to: number): Promise<number[]> {
    const lo = Math.max(0, Math.min(from, to));
    const hi = Math.max(from, to);
    const cached: number[] = [];
    for (let i = lo; i <= hi; i++) {
      const r = this.row(i);
      if (!r) break;
      cached.push(r.id);
    }
    if (cached.length === hi - lo + 1) return cached;
    return call('library:ids', this.query(lo, hi - lo + 1));
  }

  /** A row to select once its block arrives (End or Page Down into rows not loaded yet). */
  #pendingSelect: number | null = null;

  /** Selects exactly the row at `index` (a plain click or arrow key). */
  selectOnly(index: number): void {
    const row = this.row(index);
    this.selected.clear();
    if (row) this.selected.add(row.id);
    this.#pendingSelect = row ? null : index;
    this.selectionAnchor = index;
    this.saveSoon();
  }

  /** Ctrl+click, Space: adds or removes one row. */
  toggle(index: number): void {
    const row = this.row(index);
    if (!row) return;
    if (this.selected.has(row.id)) this.selected.delete(row.id);
    else this.selected.add(row.id);
    this.selectionAnchor = index;
    this.saveSoon();
  }

  /** Shift+click, Shift+arrows: selects the rows from the anchor to `index` (added to the rest with Ctrl). */
  async extendTo(index: number, isAdditive: boolean): Promise<void> {
    const ids = await this.idsBetween(this.selectionAnchor, index);
    if (!isAdditive) this.selected.clear();
    for (const id of ids) this.selected.add(id);
    this.saveSoon();
  }

  /** Ctrl+A: every track of the current query. */
  async selectAll(): Promise<void> {
    const total = this.total ?? 0;
    if (total === 0) return;
    const ids = await call('library:ids', this.query(0, total));
    this.selected.clear();
    for (const id of ids) this.selected.add(id);
    this.saveSoon();
  }

  clearSelection(): void {
    this.selected.clear();
    this.saveSoon();
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
