-- 0120_library_counts_and_genres: what the library table needs at 1,000,000 tracks without walking the table
-- (bench/library-table.ts; EXPLAIN QUERY PLAN showed both as a scan of every track).
--
-- 1. The number of present tracks, kept by triggers. `count(*)` has no shortcut in SQLite: it walks the
--    smallest index, ~10 ms at 100,000 tracks and ~10× that at 1,000,000, on every page the table asks for.
--    A track counts while missing_since IS NULL: added, deleted, marked missing or found again.
CREATE TABLE library_counts (
  what TEXT PRIMARY KEY,
  n    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO library_counts (what, n) VALUES ('present', (SELECT count(*) FROM tracks WHERE missing_since IS NULL));
-- 'tracks-version' moves on every insert, update or delete of a track (by any connection): the library table
-- keeps the order of a deep scroll while it has not moved (main/app/track-order-cache.ts).
INSERT INTO library_counts (what, n) VALUES ('tracks-version', 0);
CREATE TRIGGER tracks_version_ai AFTER INSERT ON tracks BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'tracks-version';
END;
CREATE TRIGGER tracks_version_au AFTER UPDATE ON tracks BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'tracks-version';
END;
CREATE TRIGGER tracks_version_ad AFTER DELETE ON tracks BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'tracks-version';
END;

CREATE TRIGGER tracks_count_ai AFTER INSERT ON tracks WHEN new.missing_since IS NULL BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'present';
END;
CREATE TRIGGER tracks_count_ad AFTER DELETE ON tracks WHEN old.missing_since IS NULL BEGIN
  UPDATE library_counts SET n = n - 1 WHERE what = 'present';
END;
CREATE TRIGGER tracks_count_au AFTER UPDATE OF missing_since ON tracks
  WHEN (old.missing_since IS NULL) <> (new.missing_since IS NULL) BEGIN
  UPDATE library_counts SET n = n + (CASE WHEN new.missing_since IS NULL THEN 1 ELSE -1 END) WHERE what = 'present';
END;

-- 2. Each track's genres (its genre tag and every text value of genres_json), one row per distinct genre, so
--    the genre filter is an index lookup instead of parsing every track's JSON (`json_each` per row: 0.3 s for
--    one page of a genre at 100,000 tracks, 5.9 s at 1,000,000). NOCASE: the filter has always ignored case.
--    `listed`: the genre menu lists genres_json's values, or the tag when there is no list (a combined tag
--    such as 'Rock; Blues' beside ['Rock', 'Blues'] is matched by the filter but not offered in the menu).
CREATE TABLE track_genres (
  genre    TEXT NOT NULL COLLATE NOCASE,
  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  listed   INTEGER NOT NULL,
  PRIMARY KEY (genre, track_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX track_genres_track ON track_genres(track_id);

-- A genres_json that is not valid JSON (never written by the app) lists nothing rather than failing the write.
-- List values first: a tag equal to one of them (ignoring case) is then the same, listed, row.
INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
  SELECT g.value, t.id, 1 FROM tracks t, json_each(CASE WHEN json_valid(t.genres_json) THEN t.genres_json END) g WHERE g.type = 'text' AND g.value <> '';
INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
  SELECT t.genre, t.id, t.genres_json IS NULL FROM tracks t WHERE t.genre IS NOT NULL AND t.genre <> '';

CREATE TRIGGER track_genres_ai AFTER INSERT ON tracks BEGIN
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT g.value, new.id, 1 FROM json_each(CASE WHEN json_valid(new.genres_json) THEN new.genres_json END) g WHERE g.type = 'text' AND g.value <> '';
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT new.genre, new.id, new.genres_json IS NULL WHERE new.genre IS NOT NULL AND new.genre <> '';
END;
CREATE TRIGGER track_genres_au AFTER UPDATE OF genre, genres_json ON tracks BEGIN
  DELETE FROM track_genres WHERE track_id = old.id;
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT g.value, new.id, 1 FROM json_each(CASE WHEN json_valid(new.genres_json) THEN new.genres_json END) g WHERE g.type = 'text' AND g.value <> '';
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT new.genre, new.id, new.genres_json IS NULL WHERE new.genre IS NOT NULL AND new.genre <> '';
END;
-- Deleted tracks: ON DELETE CASCADE (foreign_keys is on for every connection, main/db/open.ts).
