/**
 * @file Builds the training set from a user's library: tags and user captions → examples, with a held-out
 * split by track, de-duplication and a report of what was used and skipped. Pure TS over plain rows (the
 * caller reads them from SQLite; see main/db/training.ts).
 *
 * [Note: Training data from the library]
 * - Every example pairs a question and an answer with a track's cached pooled MERT windows (windows table);
 *   the decoder never sees audio here, so the encoder never runs during training. A track without cached
 *   windows for the chosen encoder is skipped as "needs analysis" (the embed/caption job computes them).
 * - Captions the user edited (captions.source = 'user') are the strongest signal: weight 4 (each appears four
 *   times per epoch); tag captions and tag Q&A weight 1. Model-written captions are never used.
 * - Held-out split by track, not by example, so no song is both learned and measured: FNV-1a of the file's
 *   fingerprint (stable across renames and moves) decides. With four usable tracks or more at least one is
 *   held out; at least one always stays for training.
 * - De-duplication: a second file with the same fingerprint (a copy) is skipped; identical (track,
 *   question, answer) pairs are kept once with the highest weight.
 */
import { fnv1a, instrumentsFromNativeTags, pairsFromTags, CAPTION_QUESTION_TEXT } from './templates';

/** One cached analysis window: `rows` pooled vectors of `dim` values. */
export interface LibraryWindow {
  readonly startMs: number;
  readonly lengthMs: number;
  readonly rows: number;
  readonly dim: number;
  readonly embedding: Float32Array;
}

/** A caption row of the track. */
export interface LibraryCaption {
  readonly startMs: number;
  readonly lengthMs: number;
  readonly source: 'model' | 'user';
  readonly text: string;
}

/** What the dataset needs of a track (tracks row fields + its windows and captions). */
export interface LibraryTrack {
  readonly id: number;
  readonly path: string;
  readonly fingerprint: string;
  readonly genre: string | null;
  readonly genresJson: string | null;
  readonly mood: string | null;
  readonly comment: string | null;
  readonly bpm: number | null;
  readonly musicalKey: string | null;
  readonly nativeTagsJson: string | null;
  readonly missingSince: number | null;
  readonly windows: readonly LibraryWindow[];
  readonly captions: readonly LibraryCaption[];
}

/** One training example: a question, its answer, and the windows it may be paired with. */
export interface Example {
  /** Stable id: `<trackId>:<kind>:<hash>`. */
  readonly id: string;
  readonly trackId: number;
  readonly kind: string;
  readonly question: string;
  readonly answer: string;
  /** Times it appears per epoch (user captions count most). */
  readonly weight: number;
  readonly windows: readonly LibraryWindow[];
}

/** Why a track or caption was not used. */
export type SkipReason = 'missing-file' | 'needs-analysis' | 'no-usable-tags' | 'empty-caption' | 'bad-embedding' | 'duplicate-file';

/** One skipped item, with a message for the user. */
export interface Skipped {
  readonly trackId: number;
  readonly path: string;
  readonly reason: SkipReason;
  readonly message: string;
}

/** What was used and skipped, and why. */
export interface DataReport {
  readonly tracksSeen: number;
  readonly tracksUsed: number;
  readonly trainTracks: number;
  readonly heldOutTracks: number;
  readonly trainExamples: number;
  readonly heldOutExamples: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly userCaptions: number;
  readonly duplicatesRemoved: number;
  readonly skipped: readonly Skipped[];
  /** Counts of skipped items per reason. */
  readonly skippedByReason: Readonly<Partial<Record<SkipReason, number>>>;
}

/** The result of {@link buildDataset}. */
export interface Dataset {
  readonly train: Example[];
  readonly heldOut: Example[];
  readonly report: DataReport;
}

/** Options of {@link buildDataset}. */
export interface DatasetOptions {
  /** Pooled vector width the adapter expects (encoder width). */
  readonly inDim: number;
  /** Fraction of tracks held out (default 0.1). */
  readonly heldOutFraction?: number;
  /** Weight of a user-edited caption (default 4). */
  readonly userCaptionWeight?: number;
  /** Returns false when the file no longer exists (default: trust `missingSince`). */
  readonly fileExists?: (path: string) => boolean;
}

const NEEDS_ANALYSIS = 'needs analysis: run caption/embed first';

function parseGenres(t: LibraryTrack): string[] {
  if (t.genresJson) {
    try {
      const g = JSON.parse(t.genresJson) as unknown;
      if (Array.isArray(g)) return g.filter((x): x is string => typeof x === 'string');
    } catch {
      // fall back to the display genre
    }
  }
  return t.genre ? t.genre.split(/\s*;\s*/) : [];
}

function isHeldOut(fingerprint: string, fraction: number): boolean {
  return fnv1a(`held-out:${fingerprint}`) / 2 ** 32 < fraction;
}

/** Builds the dataset; see [Note: Training data from the library]. */
export function buildDataset(tracks: readonly LibraryTrack[], opts: DatasetOptions): Dataset {
  const fraction = opts.heldOutFraction ?? 0.1;
  const userWeight = opts.userCaptionWeight ?? 4;
  const skipped: Skipped[] = [];
  const skip = (t: LibraryTrack, reason: SkipReason, message: string): void => {
    skipped.push({ trackId: t.id, path: t.path, reason, message });
  };
  const seenFingerprints = new Map<string, number>();
  const perTrack = new Map<number, { track: LibraryTrack; examples: Example[] }>();
  let userCaptions = 0;
  let duplicatesRemoved = 0;
  const sorted = [...tracks].sort((a, b) => a.id - b.id);
  for (const t of sorted) {
    if (t.missingSince !== null || (opts.fileExists && !opts.fileExists(t.path))) {
      skip(t, 'missing-file', `${t.path}: the file is gone (moved or deleted outside a watched folder)`);
      continue;
    }
    const first = seenFingerprints.get(t.fingerprint);
    if (first !== undefined) {
      skip(t, 'duplicate-file', `${t.path}: same audio as track ${first}; used once`);
      continue;
    }
    seenFingerprints.set(t.fingerprint, t.id);
    const good = t.windows.filter((w) => w.dim === opts.inDim && w.rows > 0 && w.embedding.length === w.rows * w.dim && w.embedding.every(Number.isFinite));
    if (t.windows.length > 0 && good.length < t.windows.length) {
      const bad = t.windows.find((w) => !good.includes(w));
      skip(t, 'bad-embedding', `${t.path}: ${t.windows.length - good.length} cached window(s) unusable (width ${bad?.dim}, adapter expects ${opts.inDim}, or corrupt values)`);
    }
    const candidates: Omit<Example, 'id'>[] = [];
    for (const c of t.captions) {
      if (c.source !== 'user') continue;
      const text = c.text.replace(/\s+/g, ' ').trim();
      if (!text) {
        skip(t, 'empty-caption', `${t.path}: an edited caption at ${Math.round(c.startMs / 1000)} s is empty`);
        continue;
      }
      const same = good.filter((w) => w.startMs === c.startMs && w.lengthMs === c.lengthMs);
      candidates.push({ trackId: t.id, kind: 'user-caption', question: CAPTION_QUESTION_TEXT, answer: text, weight: userWeight, windows: same.length > 0 ? same : good });
      userCaptions++;
    }
    const pairs = pairsFromTags(
      {
        genres: parseGenres(t),
        mood: t.mood,
        comment: t.comment,
        bpm: t.bpm,
        musicalKey: t.musicalKey,
        instruments: instrumentsFromNativeTags(t.nativeTagsJson),
      },
      t.fingerprint,
    );
    for (const p of pairs) candidates.push({ trackId: t.id, kind: `tag-${p.kind}`, question: p.question, answer: p.answer, weight: 1, windows: good });
    if (candidates.length === 0) {
      skip(t, 'no-usable-tags', `${t.path}: no genre, mood, instruments, tempo, key, prose comment or edited caption`);
      continue;
    }
    if (good.length === 0) {
      skip(t, 'needs-analysis', `${t.path}: ${NEEDS_ANALYSIS}`);
      continue;
    }
    // De-duplicate identical pairs, keeping the highest weight.
    const byKey = new Map<string, Omit<Example, 'id'>>();
    for (const c of candidates) {
      const key = `${c.question.toLowerCase()}\u0000${c.answer.toLowerCase()}`;
      const prev = byKey.get(key);
      if (prev) {
        duplicatesRemoved++;
        if (c.weight > prev.weight) byKey.set(key, c);
      } else {
        byKey.set(key, c);
      }
    }
    const examples = [...byKey.entries()].map(([key, c]) => ({ ...c, id: `${t.id}:${c.kind}:${fnv1a(key).toString(16)}` }));
    perTrack.set(t.id, { track: t, examples });
  }
  // Held-out split by track.
  const used = [...perTrack.values()];
  let heldIds = new Set(used.filter((u) => isHeldOut(u.track.fingerprint, fraction)).map((u) => u.track.id));
  if (fraction > 0 && heldIds.size === 0 && used.length >= 4) {
    const best = [...used].sort((a, b) => fnv1a(`held-out:${a.track.fingerprint}`) - fnv1a(`held-out:${b.track.fingerprint}`))[0];
    if (best) heldIds = new Set([best.track.id]);
  }
  if (heldIds.size === used.length && used.length > 0) heldIds.delete(used[0]!.track.id);
  const train: Example[] = [];
  const heldOut: Example[] = [];
  const byKind: Record<string, number> = {};
  for (const u of used) {
    for (const e of u.examples) {
      (heldIds.has(u.track.id) ? heldOut : train).push(e);
      byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    }
  }
  const skippedByReason: Partial<Record<SkipReason, number>> = {};
  for (const s of skipped) skippedByReason[s.reason] = (skippedByReason[s.reason] ?? 0) + 1;
  return {
    train,
    heldOut,
    report: {
      tracksSeen: tracks.length,
      tracksUsed: used.length,
      trainTracks: used.length - heldIds.size,
      heldOutTracks: heldIds.size,
      trainExamples: train.length,
      heldOutExamples: heldOut.length,
      byKind,
      userCaptions,
      duplicatesRemoved,
      skipped,
      skippedByReason,
    },
  };
}

/** A short human-readable summary of a report (CLI output, logs). */
export function formatDataReport(r: DataReport): string {
  const lines = [
    `Tracks: ${r.tracksSeen} seen, ${r.tracksUsed} used (${r.trainTracks} train, ${r.heldOutTracks} held out).`,
    `Examples: ${r.trainExamples} train, ${r.heldOutExamples} held out; ${r.userCaptions} edited caption(s); ${r.duplicatesRemoved} duplicate(s) removed.`,
    `By kind: ${Object.entries(r.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}.`,
  ];
  const reasons = Object.entries(r.skippedByReason);
  if (reasons.length > 0) lines.push(`Skipped: ${reasons.map(([k, n]) => `${k} ${n}`).join(', ')}.`);
  for (const s of r.skipped.slice(0, 20)) lines.push(`  - ${s.message}`);
  if (r.skipped.length > 20) lines.push(`  … and ${r.skipped.length - 20} more`);
  return lines.join('\n');
}
