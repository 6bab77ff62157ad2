-- index adapters_model
CREATE INDEX adapters_model ON adapters(model_id, created_at);

-- index adapters_one_active
CREATE UNIQUE INDEX adapters_one_active ON adapters(model_id) WHERE is_active = 1;

-- index captions_track
CREATE INDEX captions_track ON captions(track_id);

-- index jobs_dedupe_pending
CREATE UNIQUE INDEX jobs_dedupe_pending ON jobs(dedupe_key)
  WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'paused');

-- index jobs_owner
CREATE INDEX jobs_owner ON jobs(owner) WHERE owner IS NOT NULL;

-- index jobs_parent
CREATE INDEX jobs_parent ON jobs(parent_id, state) WHERE parent_id IS NOT NULL;

-- index jobs_ready
CREATE INDEX jobs_ready ON jobs(state, priority DESC, id);

-- index models_model_id
CREATE INDEX models_model_id ON models(model_id);

-- index qa_messages_thread
CREATE INDEX qa_messages_thread ON qa_messages(track_id, thread_id, id);

-- index tag_journal_batch
CREATE INDEX tag_journal_batch ON tag_journal(batch_id);

-- index tag_journal_pending
CREATE INDEX tag_journal_pending ON tag_journal(state) WHERE state = 'pending';

-- index tag_suggestions_state
CREATE INDEX tag_suggestions_state ON tag_suggestions(field, state);

-- index tag_suggestions_unique
CREATE UNIQUE INDEX tag_suggestions_unique ON tag_suggestions(track_id, field, value, source);

-- index track_genres_track
CREATE INDEX track_genres_track ON track_genres(track_id);

-- index tracks_artist
CREATE INDEX tracks_artist ON tracks(artist);

-- index tracks_browse
CREATE INDEX tracks_browse ON tracks ((coalesce(album_artist, artist) IS NULL), coalesce(album_artist, artist) COLLATE NOCASE,
  album COLLATE NOCASE, disc_no, track_no, name_key);

-- index tracks_fingerprint
CREATE INDEX tracks_fingerprint ON tracks(fingerprint);

-- index tracks_folder
CREATE INDEX tracks_folder ON tracks(folder_id);

-- index tracks_missing
CREATE INDEX tracks_missing ON tracks(missing_since) WHERE missing_since IS NOT NULL;

-- index tracks_present_added
CREATE INDEX tracks_present_added ON tracks(added_at) WHERE missing_since IS NULL;

-- index tracks_present_album
CREATE INDEX tracks_present_album ON tracks((album IS NULL), album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL;

-- index tracks_present_artist
CREATE INDEX tracks_present_artist ON tracks((artist IS NULL), artist COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL;

-- index tracks_present_duration
CREATE INDEX tracks_present_duration ON tracks(duration_ms) WHERE missing_since IS NULL;

-- index tracks_present_genre
CREATE INDEX tracks_present_genre ON tracks(genre COLLATE NOCASE) WHERE missing_since IS NULL;

-- index tracks_present_genre_browse
CREATE INDEX tracks_present_genre_browse ON tracks(genre COLLATE NOCASE, (coalesce(album_artist, artist) IS NULL),
  coalesce(album_artist, artist) COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL;

-- index tracks_present_multi_genre_browse
CREATE INDEX tracks_present_multi_genre_browse ON tracks((coalesce(album_artist, artist) IS NULL),
  coalesce(album_artist, artist) COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL AND instr(genre, ';') > 0;

-- index tracks_present_title
CREATE INDEX tracks_present_title ON tracks((title IS NULL), title COLLATE NOCASE, name_key) WHERE missing_since IS NULL;

-- index tracks_present_year
CREATE INDEX tracks_present_year ON tracks(year) WHERE missing_since IS NULL;

-- index tracks_year
CREATE INDEX tracks_year ON tracks(year);

-- index training_runs_model
CREATE INDEX training_runs_model ON training_runs(model_id, id);

-- table adapters
CREATE TABLE adapters (
  id            TEXT PRIMARY KEY,             -- 'adp-<created>-<run>'
  model_id      TEXT NOT NULL,
  name          TEXT NOT NULL,
  parent_id     TEXT REFERENCES adapters(id) ON DELETE SET NULL,
  run_id        INTEGER REFERENCES training_runs(id) ON DELETE SET NULL,
  path          TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  in_dim        INTEGER NOT NULL,
  out_dim       INTEGER NOT NULL,
  held_out_loss REAL,
  is_active     INTEGER NOT NULL DEFAULT 0 CHECK (is_active IN (0, 1)),
  created_at    INTEGER NOT NULL
) STRICT;

-- table app_settings
CREATE TABLE app_settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,     -- JSON
  updated_at INTEGER NOT NULL   -- ms since the Unix epoch
) STRICT;

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
, parent_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE, owner TEXT, heartbeat_at INTEGER, dedupe_key TEXT, max_attempts INTEGER NOT NULL DEFAULT 3, started_at INTEGER, finished_at INTEGER) STRICT;

-- table library_counts
CREATE TABLE library_counts (
  what TEXT PRIMARY KEY,
  n    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- table models
CREATE TABLE models (
  id          TEXT PRIMARY KEY,   -- pack id '<model_id>@<variant>', e.g. 'musilingo-long@int4'
  model_id    TEXT NOT NULL,      -- catalog id ('musilingo-long') or 'local-<name>' for an imported folder
  repo        TEXT,               -- Hub repo 'owner/name'; NULL for an imported folder
  revision    TEXT,               -- the commit the files came from (the revision asked for until resolved)
  variant     TEXT NOT NULL CHECK (variant IN ('float32', 'float16', 'int4')),
  source_path TEXT,               -- checkpoint folder (downloaded or imported)
  path        TEXT,               -- pack folder (set once conversion starts)
  state       TEXT NOT NULL CHECK (state IN ('downloading', 'downloaded', 'converting', 'ready', 'failed')),
  error       TEXT,               -- user-facing message when state = 'failed'
  progress    REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  size_bytes  INTEGER,            -- pack size on disk when ready
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
, adapter_id TEXT NOT NULL DEFAULT '') STRICT;

-- table scan_errors
CREATE TABLE scan_errors (
  id        INTEGER PRIMARY KEY,
  folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
  path      TEXT NOT NULL UNIQUE,
  code      TEXT NOT NULL,        -- 'unreadable' | 'empty' | 'corrupt' | 'not-audio' | 'permission' | 'changed' | 'internal'
  message   TEXT NOT NULL,
  at        INTEGER NOT NULL
) STRICT;

-- table tag_batches
CREATE TABLE tag_batches (
  id          TEXT PRIMARY KEY,            -- 'b<ms>-<random>'
  kind        TEXT NOT NULL CHECK (kind IN ('write', 'undo')),
  undoes      TEXT REFERENCES tag_batches(id),
  fields      TEXT NOT NULL,               -- JSON array of field names
  created_at  INTEGER NOT NULL,
  finished_at INTEGER,
  undone_by   TEXT REFERENCES tag_batches(id)
) STRICT;

-- table tag_journal
CREATE TABLE tag_journal (
  id                 INTEGER PRIMARY KEY,
  batch_id           TEXT NOT NULL REFERENCES tag_batches(id) ON DELETE CASCADE,
  track_id           INTEGER REFERENCES tracks(id) ON DELETE SET NULL,
  path               TEXT NOT NULL,
  family             TEXT NOT NULL,        -- 'id3v2.4' | 'id3v2.3' | 'xiph' | 'mp4'
  fingerprint_before TEXT NOT NULL,
  fingerprint_after  TEXT,
  old_values         TEXT NOT NULL,
  new_values         TEXT NOT NULL,
  -- 'pending' (journaled, file not yet replaced), 'written', 'failed' (error says why; file untouched).
  state              TEXT NOT NULL CHECK (state IN ('pending', 'written', 'failed')),
  error              TEXT,
  created_at         INTEGER NOT NULL,
  finished_at        INTEGER
) STRICT;

-- table tag_suggestions
CREATE TABLE tag_suggestions (
  id          INTEGER PRIMARY KEY,
  track_id    INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  field       TEXT NOT NULL CHECK (field IN ('genre', 'mood', 'instruments', 'vocals', 'tempo', 'caption')),
  value       TEXT NOT NULL,
  -- 'caption' (caption text matched against the vocabulary), 'question' (a fixed question to the model),
  -- 'user' (typed by the user: `tags set` or the Edit button).
  source      TEXT NOT NULL CHECK (source IN ('caption', 'question', 'user')),
  -- 1 when the value is a vocabulary term, 0 when it is kept as free text (it mapped to nothing).
  in_vocabulary INTEGER NOT NULL DEFAULT 1,
  -- What the value came from: the caption span, or "question → answer".
  evidence    TEXT,
  model_id    TEXT,
  adapter_id  TEXT,
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected')),
  created_at  INTEGER NOT NULL,
  decided_at  INTEGER
) STRICT;

-- table track_genres
CREATE TABLE track_genres (
  genre    TEXT NOT NULL COLLATE NOCASE,
  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  listed   INTEGER NOT NULL,
  PRIMARY KEY (genre, track_id)
) STRICT, WITHOUT ROWID;

-- table track_vectors
CREATE TABLE track_vectors (
  track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  model_id   TEXT NOT NULL,
  dim        INTEGER NOT NULL,
  rows       INTEGER NOT NULL,      -- window rows averaged into it
  vector     BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (track_id, model_id)
) STRICT;

-- table tracks
CREATE TABLE "tracks" (
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
, duration_estimated INTEGER NOT NULL DEFAULT 0 CHECK (duration_estimated IN (0, 1)), name_key TEXT) STRICT;

-- table tracks_fts
CREATE VIRTUAL TABLE tracks_fts USING fts5(
  title, artist, album, genre, tags, caption,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3 4'
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

-- table tracks_tags_fts
CREATE VIRTUAL TABLE tracks_tags_fts USING fts5(
  title, artist, album, genre, tags,
  content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3 4'
);

-- table tracks_tags_fts_config
CREATE TABLE 'tracks_tags_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;

-- table tracks_tags_fts_data
CREATE TABLE 'tracks_tags_fts_data'(id INTEGER PRIMARY KEY, block BLOB);

-- table tracks_tags_fts_docsize
CREATE TABLE 'tracks_tags_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB, origin INTEGER);

-- table tracks_tags_fts_idx
CREATE TABLE 'tracks_tags_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;

-- table training_points
CREATE TABLE training_points (
  run_id     INTEGER NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('train', 'held_out')),
  step       INTEGER NOT NULL,
  loss       REAL NOT NULL,
  lr         REAL,
  grad_norm  REAL,
  tokens     INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, kind, step)
) STRICT, WITHOUT ROWID;

-- table training_runs
CREATE TABLE training_runs (
  id                INTEGER PRIMARY KEY,
  model_id          TEXT NOT NULL,             -- the model pack (or checkpoint folder) whose decoder it trains for
  model_path        TEXT NOT NULL,             -- folder the run read the frozen decoder from
  encoder_model_id  TEXT NOT NULL,             -- windows.model_id of the pooled embeddings it used
  parent_adapter_id TEXT,                      -- adapters.id it started from; NULL = the model's own adapter
  state             TEXT NOT NULL DEFAULT 'running'
                    CHECK (state IN ('running', 'done', 'failed', 'cancelled')),
  config            TEXT NOT NULL,
  data_report       TEXT,
  step              INTEGER NOT NULL DEFAULT 0, -- optimizer steps completed (as of the last checkpoint or event)
  total_steps       INTEGER NOT NULL,
  checkpoint_path   TEXT,
  adapter_id        TEXT,                      -- the adapter it produced, once done
  initial_held_out_loss REAL,                  -- held-out loss of the starting adapter
  held_out_loss     REAL,                      -- latest held-out loss
  error             TEXT,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;

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

-- trigger track_genres_ai
CREATE TRIGGER track_genres_ai AFTER INSERT ON tracks BEGIN
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT g.value, new.id, 1 FROM json_each(CASE WHEN json_valid(new.genres_json) THEN new.genres_json END) g WHERE g.type = 'text' AND g.value <> '';
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT new.genre, new.id, new.genres_json IS NULL WHERE new.genre IS NOT NULL AND new.genre <> '';
END;

-- trigger track_genres_au
CREATE TRIGGER track_genres_au AFTER UPDATE OF genre, genres_json ON tracks BEGIN
  DELETE FROM track_genres WHERE track_id = old.id;
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT g.value, new.id, 1 FROM json_each(CASE WHEN json_valid(new.genres_json) THEN new.genres_json END) g WHERE g.type = 'text' AND g.value <> '';
  INSERT OR IGNORE INTO track_genres (genre, track_id, listed)
    SELECT new.genre, new.id, new.genres_json IS NULL WHERE new.genre IS NOT NULL AND new.genre <> '';
END;

-- trigger tracks_count_ad
CREATE TRIGGER tracks_count_ad AFTER DELETE ON tracks WHEN old.missing_since IS NULL BEGIN
  UPDATE library_counts SET n = n - 1 WHERE what = 'present';
END;

-- trigger tracks_count_ai
CREATE TRIGGER tracks_count_ai AFTER INSERT ON tracks WHEN new.missing_since IS NULL BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'present';
END;

-- trigger tracks_count_au
CREATE TRIGGER tracks_count_au AFTER UPDATE OF missing_since ON tracks
  WHEN (old.missing_since IS NULL) <> (new.missing_since IS NULL) BEGIN
  UPDATE library_counts SET n = n + (CASE WHEN new.missing_since IS NULL THEN 1 ELSE -1 END) WHERE what = 'present';
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

-- trigger tracks_tags_fts_ad
CREATE TRIGGER tracks_tags_fts_ad AFTER DELETE ON tracks BEGIN
  DELETE FROM tracks_tags_fts WHERE rowid = old.id;
END;

-- trigger tracks_tags_fts_ai
CREATE TRIGGER tracks_tags_fts_ai AFTER INSERT ON tracks BEGIN
  INSERT INTO tracks_tags_fts(rowid, title, artist, album, genre, tags)
  VALUES (new.id, new.title, coalesce(new.artists_json, new.artist), new.album, new.genre,
          concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year));
END;

-- trigger tracks_tags_fts_au
CREATE TRIGGER tracks_tags_fts_au AFTER UPDATE OF title, artist, artists_json, album, album_artist, genre, mood,
    comment, musical_key, year ON tracks BEGIN
  UPDATE tracks_tags_fts SET title = new.title, artist = coalesce(new.artists_json, new.artist), album = new.album,
    genre = new.genre, tags = concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year)
  WHERE rowid = new.id;
END;

-- trigger tracks_version_ad
CREATE TRIGGER tracks_version_ad AFTER DELETE ON tracks BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'tracks-version';
END;

-- trigger tracks_version_ai
CREATE TRIGGER tracks_version_ai AFTER INSERT ON tracks BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'tracks-version';
END;

-- trigger tracks_version_au
CREATE TRIGGER tracks_version_au AFTER UPDATE ON tracks BEGIN
  UPDATE library_counts SET n = n + 1 WHERE what = 'tracks-version';
END;
