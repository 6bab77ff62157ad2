/**
 * @file Reads the trainer's raw data from the library database: every track with its tags, its cached windows
 * of one encoder and its user-edited captions. Any Node process with a (read-only is enough) better-sqlite3
 * handle; main/db/training.ts re-exports it as its repository function.
 *
 * [Note: Training reads the library itself]
 * STYLE keeps SQL in main/db repositories, but a trainer utility process may not import main/ and the data is
 * large (a window's pooled rows are ~28 KB at MERT width; tens of thousands of windows would have to be copied
 * across processes). So this one read-only query lives with the trainer and takes the handle as an argument;
 * main/db/training.ts exposes it under the repository's name, and every write stays in main.
 */
import type Database from 'better-sqlite3';
import { blobToFloat32 } from '../../model/inference/vectors';
import type { LibraryCaption, LibraryTrack, LibraryWindow } from './dataset';

type Row = Record<string, unknown>;

/** Every track with its windows of `encoderModelId` and user captions, in one snapshot. */
export function readLibraryForTraining(db: Database.Database, encoderModelId: string): LibraryTrack[] {
  return db.transaction(() => {
    const tracks = db
      .prepare('SELECT id, path, fingerprint, genre, genres_json, mood, comment, bpm, musical_key, native_tags_json, missing_since FROM tracks ORDER BY id')
      .all() as Row[];
    const windows = new Map<number, LibraryWindow[]>();
    for (const w of db.prepare('SELECT track_id, start_ms, length_ms, rows, dim, embedding FROM windows WHERE model_id = ? ORDER BY track_id, start_ms').iterate(encoderModelId) as Iterable<Row>) {
      const tid = w['track_id'] as number;
      let embedding: Float32Array;
      try {
        embedding = blobToFloat32(w['embedding'] as Buffer, `window of track ${tid}`);
      } catch {
        embedding = new Float32Array(0); // reported as a bad embedding by the dataset
      }
      const list = windows.get(tid) ?? [];
      list.push({ startMs: w['start_ms'] as number, lengthMs: w['length_ms'] as number, rows: w['rows'] as number, dim: w['dim'] as number, embedding });
      windows.set(tid, list);
    }
    const captions = new Map<number, LibraryCaption[]>();
    for (const c of db.prepare("SELECT track_id, start_ms, length_ms, text FROM captions WHERE source = 'user' ORDER BY track_id, id").iterate() as Iterable<Row>) {
      const tid = c['track_id'] as number;
      const list = captions.get(tid) ?? [];
      list.push({ startMs: c['start_ms'] as number, lengthMs: c['length_ms'] as number, source: 'user', text: c['text'] as string });
      captions.set(tid, list);
    }
    return tracks.map((t): LibraryTrack => ({
      id: t['id'] as number,
      path: t['path'] as string,
      fingerprint: t['fingerprint'] as string,
      genre: (t['genre'] as string | null) ?? null,
      genresJson: (t['genres_json'] as string | null) ?? null,
      mood: (t['mood'] as string | null) ?? null,
      comment: (t['comment'] as string | null) ?? null,
      bpm: (t['bpm'] as number | null) ?? null,
      musicalKey: (t['musical_key'] as string | null) ?? null,
      nativeTagsJson: (t['native_tags_json'] as string | null) ?? null,
      missingSince: (t['missing_since'] as number | null) ?? null,
      windows: windows.get(t['id'] as number) ?? [],
      captions: captions.get(t['id'] as number) ?? [],
    }));
  })();
}
