-- migrate: foreign_keys=off
-- Track ids are never handed out twice. A plain INTEGER PRIMARY KEY takes max(id) + 1, so after the newest
-- tracks are purged their ids went to the next new files, and anything outside the database that remembered
-- an id (an exported playlist, a bookmark, notes) silently pointed at another song. AUTOINCREMENT keeps a
-- high-water mark in sqlite_sequence instead.
--
-- SQLite cannot add AUTOINCREMENT in place, so the table is rebuilt the documented way (create, copy, drop,
-- rename) with foreign keys off for this migration (the header above; the runner checks every foreign key
-- before committing): with them on, DROP TABLE would cascade into captions, windows, vectors and questions.
-- Ids, columns, indexes and triggers stay exactly as they were; the FTS table is keyed by track id and is kept.
CREATE TABLE tracks_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  folder_id     INTEGER REFERENCES folders(id) ON DELETE SET NULL,
  path          TEXT NOT NULL UNIQUE,
  size_bytes    INTEGER NOT NULL,
  mtime_ms      INTEGER NOT NULL,
  fingerprint   TEXT NOT NULL,
  title         TEXT,
  artist        TEXT,             -- display artist ("A, B" when several)
  artists_json  TEXT,             -- JSON array of every artist
  album         TEXT,
  album_artist  TEXT,
  track_no      INTEGER,
  track_of      INTEGER,
  disc_no       INTEGER,
  disc_of       INTEGER,
  year          INTEGER,
  genre         TEXT,             -- display genre ("Rock; Pop" when several)
  genres_json   TEXT,             -- JSON array of every genre
  mood          TEXT,
  comment       TEXT,
  bpm           REAL,
  musical_key   TEXT,
  duration_ms   INTEGER,
  sample_rate_hz INTEGER,
  channels      INTEGER,
  codec         TEXT,
  container     TEXT,
  bitrate_bps   INTEGER,
  native_tags_json TEXT,          -- raw native tags, {format: [{id, value}]}
  added_at      INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  missing_since INTEGER           -- set when the file vanished; purged after a grace period
) STRICT;

INSERT INTO tracks_new (id, folder_id, path, size_bytes, mtime_ms, fingerprint, title, artist, artists_json, album,
  album_artist, track_no, track_of, disc_no, disc_of, year, genre, genres_json, mood, comment, bpm, musical_key,
  duration_ms, sample_rate_hz, channels, codec, container, bitrate_bps, native_tags_json, added_at, updated_at,
  missing_since)
SELECT id, folder_id, path, size_bytes, mtime_ms, fingerprint, title, artist, artists_json, album,
  album_artist, track_no, track_of, disc_no, disc_of, year, genre, genres_json, mood, comment, bpm, musical_key,
  duration_ms, sample_rate_hz, channels, codec, container, bitrate_bps, native_tags_json, added_at, updated_at,
  missing_since
FROM tracks;

DROP TABLE tracks;
ALTER TABLE tracks_new RENAME TO tracks;

CREATE INDEX tracks_artist ON tracks(artist);
CREATE INDEX tracks_browse ON tracks (coalesce(album_artist, artist) COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, path);
CREATE INDEX tracks_fingerprint ON tracks(fingerprint);
CREATE INDEX tracks_folder ON tracks(folder_id);
CREATE INDEX tracks_missing ON tracks(missing_since) WHERE missing_since IS NOT NULL;
CREATE INDEX tracks_present_added ON tracks(added_at) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_album ON tracks(album COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_artist ON tracks(artist COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_duration ON tracks(duration_ms) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_genre ON tracks(genre COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_title ON tracks(title COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_year ON tracks(year) WHERE missing_since IS NULL;
CREATE INDEX tracks_year ON tracks(year);

CREATE TRIGGER tracks_fts_ai AFTER INSERT ON tracks BEGIN
  INSERT INTO tracks_fts(rowid, title, artist, album, genre, tags, caption)
  VALUES (new.id, new.title, coalesce(new.artists_json, new.artist), new.album, new.genre,
          concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year), '');
END;

CREATE TRIGGER tracks_fts_ad AFTER DELETE ON tracks BEGIN
  DELETE FROM tracks_fts WHERE rowid = old.id;
END;

CREATE TRIGGER tracks_fts_au AFTER UPDATE OF title, artist, artists_json, album, album_artist, genre, mood,
    comment, musical_key, year ON tracks BEGIN
  UPDATE tracks_fts SET title = new.title, artist = coalesce(new.artists_json, new.artist), album = new.album,
    genre = new.genre, tags = concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year)
  WHERE rowid = new.id;
END;
