-- 0050_app_settings: small per-user settings the desktop app keeps (theme, window bounds).
-- One row per key; value is JSON text, validated by the app when read (a bad value falls back to the default).
CREATE TABLE app_settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,     -- JSON
  updated_at INTEGER NOT NULL   -- ms since the Unix epoch
) STRICT;

-- Sort orders of the library table (main/app/track-table-repo.ts): without these, every page of a
-- 100,000-track library sorted by title or artist would sort the whole table again.
CREATE INDEX tracks_title_nocase ON tracks(title COLLATE NOCASE);
CREATE INDEX tracks_artist_nocase ON tracks(artist COLLATE NOCASE);
CREATE INDEX tracks_album_nocase ON tracks(album COLLATE NOCASE);
CREATE INDEX tracks_genre_nocase ON tracks(genre COLLATE NOCASE);
CREATE INDEX tracks_duration ON tracks(duration_ms);
CREATE INDEX tracks_added ON tracks(added_at);
