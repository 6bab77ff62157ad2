-- Sorting (the CLI's list, search browsing, the Library table): tracks without the sorted tag come after the
-- tagged ones, and among themselves in the natural order of their paths (take-9 before take-10, take-0004
-- before take-0005), not in the order they happened to be scanned. Album order is album, disc, track.
-- name_key is naturalSortKey(path) (main/db/natural-key.ts), written with every path; the runner provides the
-- same function to fill existing rows.
ALTER TABLE tracks ADD COLUMN name_key TEXT;
UPDATE tracks SET name_key = natural_sort_key(path);

DROP INDEX tracks_browse;
CREATE INDEX tracks_browse ON tracks ((coalesce(album_artist, artist) IS NULL), coalesce(album_artist, artist) COLLATE NOCASE,
  album COLLATE NOCASE, disc_no, track_no, name_key);

DROP INDEX tracks_present_title;
DROP INDEX tracks_present_artist;
DROP INDEX tracks_present_album;
CREATE INDEX tracks_present_title ON tracks((title IS NULL), title COLLATE NOCASE, name_key) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_artist ON tracks((artist IS NULL), artist COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL;
CREATE INDEX tracks_present_album ON tracks((album IS NULL), album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL;
