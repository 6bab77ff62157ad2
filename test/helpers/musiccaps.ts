/**
 * @file Reads MusicCaps rows (ytid, aspect_list, caption) from a CSV file: the committed 200-row sample in
 * test/fixtures or the full public CSV. RFC 4180 quoting (quoted fields with "" escapes and newlines).
 */
import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { TracksRepo, type TrackMeta } from '../../main/db/tracks';
import { parseCsv } from '../../model/eval/datasets';

/** One MusicCaps row. */
export interface CaptionRow {
  readonly ytid: string;
  readonly aspects: string[];
  readonly caption: string;
}

/** Reads MusicCaps rows from `path` (any CSV with ytid, aspect_list and caption columns). */
export function readMusicCaps(path: string): CaptionRow[] {
  const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'), path);
  if (!header) return [];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${path} has no "${name}" column`);
    return i;
  };
  const [y, a, c] = [col('ytid'), col('aspect_list'), col('caption')];
  return rows
    .filter((r) => r.length > c)
    .map((r) => ({
      ytid: r[y]!,
      aspects: [...(r[a] ?? '').matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? ''),
      caption: r[c]!,
    }));
}

/** A TrackMeta with every field unknown, overridden by `m`. */
export function metaOf(m: Partial<TrackMeta> = {}): TrackMeta {
  return {
    title: null,
    artist: null,
    artists: m.artist ? [m.artist] : [],
    album: null,
    albumArtist: null,
    trackNo: null,
    trackOf: null,
    discNo: null,
    discOf: null,
    year: null,
    genre: m.genres?.length ? m.genres.join('; ') : null,
    genres: [],
    mood: null,
    comment: null,
    bpm: null,
    musicalKey: null,
    durationMs: 10_000,
    sampleRateHz: 44100,
    channels: 2,
    codec: 'PCM',
    container: 'WAVE',
    bitrateBps: null,
    nativeTags: null,
    ...m,
  };
}

/**
 * A library of `copies` copies of MusicCaps `rows` in one transaction: per row and copy one track
 * (/m/<copy>/<ytid>.wav) with the tags `meta` gives and a caption (the row's, unless `caption` says otherwise).
 * Several copies make common words match more rows than a small rank window. Returns the ids, in order.
 */
export function insertMusicCaps(
  db: Database.Database,
  rows: readonly CaptionRow[],
  opts: { copies?: number; meta: (r: CaptionRow, i: number, copy: number) => Partial<TrackMeta>; caption?: (r: CaptionRow, i: number, copy: number) => string },
): number[] {
  const tracks = new TracksRepo(db);
  const caption = db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, text, created_at) VALUES (?, 0, 10000, 'musiccaps', ?, 0)");
  const ids: number[] = [];
  db.transaction(() => {
    for (let copy = 0; copy < (opts.copies ?? 3); copy++) {
      rows.forEach((r, i) => {
        const file = { path: `/m/${copy}/${r.ytid}.wav`, folderId: null, sizeBytes: 1000 + i, mtimeMs: 0, fingerprint: `fp${copy}-${i}` };
        const id = tracks.insert(file, metaOf(opts.meta(r, i, copy)), 0);
        caption.run(id, opts.caption ? opts.caption(r, i, copy) : r.caption);
        ids.push(id);
      });
    }
  })();
  return ids;
}
