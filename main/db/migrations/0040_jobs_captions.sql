-- 0040_jobs_captions: what the job queue needs beyond 0010's `jobs` table (ownership for crash recovery,
-- groups for caption-all, de-duplication of pending work) and one pooled vector per track for "more like this".
-- Times are integer milliseconds since the Unix epoch (UTC).

-- The group a job belongs to: caption-all fans out into one child job per track (see main/jobs/queue.ts,
-- [Note: caption-all fans out into child jobs]). Deleting the group deletes its children.
ALTER TABLE jobs ADD COLUMN parent_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE;
-- The runner that claimed a running job: 'host:pid:startedAtMs'. NULL unless state = 'running' and a runner
-- works on it (a running group has no owner). A running job whose owner is dead goes back to 'queued' on startup.
ALTER TABLE jobs ADD COLUMN owner TEXT;
-- Last sign of life from the owner; a job whose heartbeat is older than the lease is taken back.
ALTER TABLE jobs ADD COLUMN heartbeat_at INTEGER;
-- Identity of the work ('caption:<track>:<model>:<adapter>:<window>'): at most one pending job per key.
ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
-- Tries before a retryable failure becomes final.
ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
ALTER TABLE jobs ADD COLUMN started_at INTEGER;
ALTER TABLE jobs ADD COLUMN finished_at INTEGER;

CREATE UNIQUE INDEX jobs_dedupe_pending ON jobs(dedupe_key)
  WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'paused');
CREATE INDEX jobs_parent ON jobs(parent_id, state) WHERE parent_id IS NOT NULL;
CREATE INDEX jobs_owner ON jobs(owner) WHERE owner IS NOT NULL;

-- One vector per track and encoder: the L2-normalised mean of every stored window row of that track
-- (windows.embedding), little-endian float32, `dim` values. Rewritten in the same transaction as a window.
CREATE TABLE track_vectors (
  track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
  model_id   TEXT NOT NULL,
  dim        INTEGER NOT NULL,
  rows       INTEGER NOT NULL,      -- window rows averaged into it
  vector     BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (track_id, model_id)
) STRICT;
