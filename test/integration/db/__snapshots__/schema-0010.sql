-- index captions_track
CREATE INDEX captions_track ON captions(track_id);

-- index jobs_ready
CREATE INDEX jobs_ready ON jobs(state, priority DESC, id);

-- index qa_messages_thread
CREATE INDEX qa_messages_thread ON qa_messages(track_id, thread_id, id);

-- index tracks_artist
CREATE INDEX tracks_artist ON tracks(artist);

-- index tracks_fingerprint
CREATE INDEX tracks_fingerprint ON tracks(fingerprint);

-- index tracks_folder
CREATE INDEX tracks_folder ON tracks(folder_id);

-- index tracks_missing
CREATE INDEX tracks_missing ON tracks(missing_since) WHERE missing_since IS NOT NULL;

-- index tracks_year
CREATE INDEX tracks_year ON tracks(year);

-- table captions
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

-- table folders
CREATE TABLE folders (
  id          INTEGER PRIMARY KEY,
  path        TEXT NOT NULL UNIQUE,
  added_at    INTEGER NOT NULL,
  last_scan_at INTEGER            -- NULL until the first complete scan
) STRICT;

-- table jobs
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

-- table qa_messages
CREATE TABLE qa_messages (
  id         INTEGER PRIMARY KEY,
  track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  thread_id  TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  text       TEXT NOT NULL,
  model_id   TEXT,
  created_at INTEGER NOT NULL
) STRICT;

-- table scan_errors
CREATE TABLE scan_errors (
  id        INTEGER PRIMARY KEY,
  folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
  path      TEXT NOT NULL UNIQUE,
  code      TEXT NOT NULL,        -- 'unreadable' | 'empty' | 'corrupt' | 'not-audio' | 'permission' | 'changed' | 'internal'
  message   TEXT NOT NULL,
  at        INTEGER NOT NULL
) STRICT;

-- table tracks
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

-- table tracks_fts
CREATE VIRTUAL TABLE tracks_fts USING fts5(
  title, artist, album, genre, tags, caption,
  tokenize = 'unicode61 remove_diacritics 2'
);

-- table tracks_fts_config
CREATE TABLE 'tracks_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

-- table tracks_fts_content
CREATE TABLE 'tracks_fts_content'(id INTEGER PRIMARY KEY, c0, c1, c2, c3, c4, c5);

-- table tracks_fts_data
CREATE TABLE 'tracks_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table tracks_fts_docsize
CREATE TABLE 'tracks_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);

-- table tracks_fts_idx
CREATE TABLE 'tracks_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table windows
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

-- trigger captions_fts_ad
CREATE TRIGGER captions_fts_ad AFTER DELETE ON captions BEGIN
  UPDATE tracks_fts SET caption = (SELECT coalesce(group_concat(text, ' '), '') FROM captions WHERE track_id = old.track_id)
  WHERE rowid = old.track_id;
END;

-- trigger captions_fts_ai
CREATE TRIGGER captions_fts_ai AFTER INSERT ON captions BEGIN
  UPDATE tracks_fts SET caption = (SELECT coalesce(group_concat(text, ' '), '') FROM captions WHERE track_id = new.track_id)
  WHERE rowid = new.track_id;
END;

-- trigger captions_fts_au
CREATE TRIGGER captions_fts_au AFTER UPDATE OF text ON captions BEGIN
  UPDATE tracks_fts SET caption = (SELECT coalesce(group_concat(text, ' '), '') FROM captions WHERE track_id = new.track_id)
  WHERE rowid = new.track_id;
END;

-- trigger tracks_fts_ad
CREATE TRIGGER tracks_fts_ad AFTER DELETE ON tracks BEGIN
  DELETE FROM tracks_fts WHERE rowid = old.id;
END;

-- trigger tracks_fts_ai
CREATE TRIGGER tracks_fts_ai AFTER INSERT ON tracks BEGIN
  INSERT INTO tracks_fts(rowid, title, artist, album, genre, tags, caption)
  VALUES (new.id, new.title, coalesce(new.artists_json, new.artist), new.album, new.genre,
          concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year), '');
END;

-- trigger tracks_fts_au
CREATE TRIGGER tracks_fts_au AFTER UPDATE OF title, artist, artists_json, album, album_artist, genre, mood,
    comment, musical_key, year ON tracks BEGIN
  UPDATE tracks_fts SET title = new.title, artist = coalesce(new.artists_json, new.artist), album = new.album,
    genre = new.genre, tags = concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year)
  WHERE rowid = new.id;
END;
