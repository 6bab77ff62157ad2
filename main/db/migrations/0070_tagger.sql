-- 0070_tagger: suggested tags, the user's decisions on them, and the journal of every write into a file
-- (docs/tagging.md). Times are integer milliseconds since the Unix epoch (UTC).

-- One suggested or user-set value for a track's tag field. A multi-value field (genre, instruments) has one
-- row per value. `state`: 'pending' (shown for review), 'accepted' (will be written), 'rejected' (hidden).
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
CREATE UNIQUE INDEX tag_suggestions_unique ON tag_suggestions(track_id, field, value, source);
CREATE INDEX tag_suggestions_state ON tag_suggestions(field, state);

-- A batch of writes (`tags write`) or an undo of one (`tags undo`).
CREATE TABLE tag_batches (
  id          TEXT PRIMARY KEY,            -- 'b<ms>-<random>'
  kind        TEXT NOT NULL CHECK (kind IN ('write', 'undo')),
  undoes      TEXT REFERENCES tag_batches(id),
  fields      TEXT NOT NULL,               -- JSON array of field names
  created_at  INTEGER NOT NULL,
  finished_at INTEGER,
  undone_by   TEXT REFERENCES tag_batches(id)
) STRICT;

-- One file in a batch. The row is committed with state 'pending' BEFORE the file is touched, holding the old
-- value of every slot it will write (JSON object slot → array of strings, or null for "absent"); see
-- [Note: Tag slots] in main/tags/fields.ts.
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
CREATE INDEX tag_journal_batch ON tag_journal(batch_id);
CREATE INDEX tag_journal_pending ON tag_journal(state) WHERE state = 'pending';
