-- Whether duration_ms is an estimate (an MP3 without a Xing, Info or VBRI frame count; see [Note: Durations]
-- in main/library/duration.ts), so the app can say "about 3:45" instead of passing a guess off as exact.
ALTER TABLE tracks ADD COLUMN duration_estimated INTEGER NOT NULL DEFAULT 0 CHECK (duration_estimated IN (0, 1));

-- Tracks stored without a duration (every Ogg file above 128 KiB, VBR MP3 without a header) are read again on
-- the next scan: an impossible mtime makes the size + mtime check see them as changed. They keep their ids.
UPDATE tracks SET mtime_ms = -1 WHERE duration_ms IS NULL;
