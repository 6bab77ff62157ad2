-- 0015_library_search: faster library search at 100,000 tracks.
--
-- 1. Prefix indexes on the full-text table. As-you-type search matches the last word as a prefix ("pia"*);
--    without a prefix index FTS5 merges the doclists of every term starting with it (thousands of terms for
--    two letters). With prefix='2 3 4' a prefix of 2 to 4 characters is one doclist read. FTS5 options cannot be
--    altered, so the table is rebuilt with the same columns and contents. The 0010 triggers name tracks_fts and
--    are resolved when they fire, so they keep working with the rebuilt table.
DROP TABLE tracks_fts;
CREATE VIRTUAL TABLE tracks_fts USING fts5(
  title, artist, album, genre, tags, caption,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3 4'
);
INSERT INTO tracks_fts(rowid, title, artist, album, genre, tags, caption)
SELECT t.id, t.title, coalesce(t.artists_json, t.artist), t.album, t.genre,
       concat_ws(' ', t.album_artist, t.mood, t.comment, t.musical_key, t.year),
       coalesce((SELECT group_concat(c.text, ' ') FROM captions c WHERE c.track_id = t.id), '')
FROM tracks t;

-- 2. Browsing the library (no search text) and `list` order by album artist, album, disc, track; this index
--    serves that order directly, so the first page of 100,000 tracks needs no sort.
CREATE INDEX tracks_browse ON tracks (coalesce(album_artist, artist) COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, path);
