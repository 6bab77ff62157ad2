-- 0030_training: adapter fine-tuning runs, their loss curves, and every adapter version with its lineage.
-- Times are integer milliseconds since the Unix epoch (UTC).

-- One fine-tuning run. state: running | done | failed | cancelled (a cancelled or crashed run resumes from
-- checkpoint_path). config and data_report are JSON (trainer TrainOptions, trainer DataReport).
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
CREATE INDEX training_runs_model ON training_runs(model_id, id);

-- The loss curve: one row per optimizer step (kind 'train') and per evaluation (kind 'held_out').
-- A resumed run rewrites the steps after its checkpoint (same key).
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

-- Every adapter version: a safetensors file (llama_proj.weight / llama_proj.bias) and where it came from.
-- id is what captions.adapter_id stores ('' there = the model's own adapter). At most one active per model.
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
CREATE UNIQUE INDEX adapters_one_active ON adapters(model_id) WHERE is_active = 1;
CREATE INDEX adapters_model ON adapters(model_id, created_at);
