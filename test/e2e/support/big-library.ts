/**
 * @file Fills a library database with many synthetic tracks in one statement (plain Node, E2E and bench setup),
 * so tests of the 100,000-track table do not spend minutes scanning files. Rows go through the real schema and
 * its FTS triggers.
 */
import type Database from 'better-sqlite3';

const GENRES = ['Rock', 'Jazz', 'Ambient', 'Folk', 'Classical', 'Electronic', 'Hip-Hop', 'Blues'];

/** Inserts `count` tracks named "Track 000001" … with artists, albums, genres and years spread over them. */
export function insertSyntheticTracks(db: Database.Database, count: number, now = Date.now()): void {
  const genres = `json_array(${GENRES.map((g) => `'${g}'`).join(', ')})`;
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count)
     INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, title, artist, album, genre, genres_json, year,
                         duration_ms, added_at, updated_at)
     SELECT '/music/synthetic/' || printf('%06d', i) || '.mp3', 1000000 + i, @now, 'fp-' || i,
            'Track ' || printf('%06d', i), 'Artist ' || (i % 997), 'Album ' || (i % 4999),
            json_extract(${genres}, '$[' || (i % ${GENRES.length}) || ']'),
            json_array(json_extract(${genres}, '$[' || (i % ${GENRES.length}) || ']')),
            1960 + (i % 60), 60000 + (i * 7919) % 300000, @now, @now
     FROM n`,
  ).run({ count, now });
}
