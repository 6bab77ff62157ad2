-- 0010_init: the library, and the tables later features attach to a track.
-- Times are integer milliseconds since the Unix epoch (UTC). Paths are absolute, as the OS spells them.

-- Folders the user asked us to watch.
CREATE TABLE folders (
  id          INTEGER PRIMARY KEY,
  path        TEXT NOT NULL UNIQUE,
  added_at    INTEGER NOT NULL,
  last_scan_at INTEGER            -- NULL until the first complete scan
) STRICT;

-- One row per audio file. `id` is the track's identity: a moved or renamed file is matched by
-- `fingerprint` (size + hashes of the first and last 64 KiB, hex) and keeps its id and everything attached to it.
CREATE TABLE tracks (
  id            INTEGER PRIMARY KEY,
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
CREATE INDEX tracks_fingerprint ON tracks(fingerprint);
CREATE INDEX tracks_folder ON tracks(folder_id);
CREATE INDEX tracks_artist ON tracks(artist);
CREATE INDEX tracks_year ON tracks(year);
CREATE INDEX tracks_missing ON tracks(missing_since) WHERE missing_since IS NOT NULL;

-- Files the scanner could not read, with the cause in words a user understands. One row per path:
-- a later successful read of the same path deletes it.
CREATE TABLE scan_errors (
  id        INTEGER PRIMARY KEY,
  folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
  path      TEXT NOT NULL UNIQUE,
  code      TEXT NOT NULL,        -- 'unreadable' | 'empty' | 'corrupt' | 'not-audio' | 'permission' | 'changed' | 'internal'
  message   TEXT NOT NULL,
  at        INTEGER NOT NULL
) STRICT;

-- Analysis windows of a track (30 s by default) and their pooled MERT embedding.
-- embedding: little-endian float32, `dim` values per row, `rows` rows (325-frame pools).
CREATE TABLE windows (
  id         INTEGER PRIMARY KEY,
  track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  model_id   TEXT NOT NULL,
  start_ms   INTEGER NOT NULL,
  length_ms  INTEGER NOT NULL,
  rows       INTEGER NOT NULL,
  dim        INTEGER NOT NULL,
  embedding  BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (track_id, model_id, start_ms, length_ms)
) STRICT;

-- Captions per track, window, model and adapter. `source` is 'model' or 'user' (an edit, which becomes training data).
CREATE TABLE captions (
  id         INTEGER PRIMARY KEY,
  track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  start_ms   INTEGER NOT NULL,
  length_ms  INTEGER NOT NULL,
  model_id   TEXT NOT NULL,
  adapter_id TEXT NOT NULL DEFAULT '',   -- '' = the model's own adapter
  source     TEXT NOT NULL DEFAULT 'model' CHECK (source IN ('model', 'user')),
  text       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (track_id, start_ms, length_ms, model_id, adapter_id, source)
) STRICT;
CREATE INDEX captions_track ON captions(track_id);

-- Question-and-answer threads per track. role: 'user' | 'assistant'.
CREATE TABLE qa_messages (
  id         INTEGER PRIMARY KEY,
  track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  thread_id  TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  text       TEXT NOT NULL,
  model_id   TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX qa_messages_thread ON qa_messages(track_id, thread_id, id);

-- Background work. payload and result are JSON. state: queued | running | paused | done | failed | cancelled.
CREATE TABLE jobs (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  payload     TEXT NOT NULL DEFAULT '{}',
  state       TEXT NOT NULL DEFAULT 'queued'
              CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
  priority    INTEGER NOT NULL DEFAULT 0,   -- higher runs first
  progress    REAL NOT NULL DEFAULT 0,      -- 0..1
  result      TEXT,
  error       TEXT,
  attempts    INTEGER NOT NULL DEFAULT 0,
  run_after   INTEGER NOT NULL DEFAULT 0,   -- backoff: not before this time
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_ready ON jobs(state, priority DESC, id);

-- Full-text search over tags and captions. rowid = tracks.id.
CREATE VIRTUAL TABLE tracks_fts USING fts5(
  title, artist, album, genre, tags, caption,
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER tracks_fts_ai AFTER INSERT ON tracks BEGIN
  INSERT INTO tracks_fts(rowid, title, artist, album, genre, tags, caption)
  VALUES (new.id, new.title, coalesce(new.artists_json, new.artist), new.album, new.genre,
          concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year), '');
END;
CREATE TRIGGER tracks_fts_au AFTER UPDATE OF title, artist, artists_json, album, album_artist, genre, mood,
    comment, musical_key, year ON tracks BEGIN
  UPDATE tracks_fts SET title = new.title, artist = coalesce(new.artists_json, new.artist), album = new.album,
    genre = new.genre, tags = concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year)
  WHERE rowid = new.id;
END;
CREATE TRIGGER tracks_fts_ad AFTER DELETE ON tracks BEGIN
  DELETE FROM tracks_fts WHERE rowid = old.id;
END;

-- The caption column holds every caption of the track, so a search sees a new caption as soon as it is stored.
CREATE TRIGGER captions_fts_ai AFTER INSERT ON captions BEGIN
  UPDATE tracks_fts SET caption = (SELECT coalesce(group_concat(text, ' '), '') FROM captions WHERE track_id = new.track_id)
  WHERE rowid = new.track_id;
END;
CREATE TRIGGER captions_fts_au AFTER UPDATE OF text ON captions BEGIN
  UPDATE tracks_fts SET caption = (SELECT coalesce(group_concat(text, ' '), '') FROM captions WHERE track_id = new.track_id)
  WHERE rowid = new.track_id;
END;
CREATE TRIGGER captions_fts_ad AFTER DELETE ON captions BEGIN
  UPDATE tracks_fts SET caption = (SELECT coalesce(group_concat(text, ' '), '') FROM captions WHERE track_id = old.track_id)
  WHERE rowid = old.track_id;
END;
