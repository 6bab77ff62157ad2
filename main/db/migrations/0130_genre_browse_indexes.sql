-- 0130_genre_browse_indexes: browsing by genre (search with a genre filter and no words) in album order
-- without sorting every track of the genre. At 1,000,000 tracks, "rock, 1970-1979" found the 83,000 rock
-- tracks through the full-text index, looked each up, and sorted the 13,000 from the 1970s to show 50
-- (140 ms). These indexes give a genre's tracks already in browse order (main/db/tracks.ts BROWSE_ORDER_OF):
-- - tracks_present_genre_browse: tracks whose genre column is the genre (a track with one genre);
-- - tracks_present_multi_genre_browse: tracks with several genres (genre is "A; B"), the rows whose list must
--   be read to know whether the genre is one of them.
-- Search merges the two walks ([Note: Browsing a genre] in main/db/search.ts), so the first page costs a
-- few hundred index steps.
CREATE INDEX tracks_present_genre_browse ON tracks(genre COLLATE NOCASE, (coalesce(album_artist, artist) IS NULL),
  coalesce(album_artist, artist) COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL;
CREATE INDEX tracks_present_multi_genre_browse ON tracks((coalesce(album_artist, artist) IS NULL),
  coalesce(album_artist, artist) COLLATE NOCASE, album COLLATE NOCASE, disc_no, track_no, name_key)
  WHERE missing_since IS NULL AND instr(genre, ';') > 0;
