/**
 * @file Reads MusicCaps rows (ytid, aspect_list, caption) from a CSV file: the committed 200-row sample in
 * test/fixtures or the full public CSV. RFC 4180 quoting (quoted fields with "" escapes and newlines).
 */
import { readFileSync } from 'node:fs';
import type { TrackMeta } from '../../main/db/tracks';
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
