-- 0020_model_packs: model packs (issue 3). One row per pack = one model in one variant. A row exists from the
-- moment its download (or import) starts, so a quit or crash mid-way is visible and resumable on the next start.
-- Times are integer milliseconds since the Unix epoch (UTC). Paths are absolute.
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

CREATE INDEX models_model_id ON models(model_id);
