-- 0051_library_sort_partial_indexes: the library table's sort indexes (0050) become partial indexes over present
-- tracks (missing_since IS NULL), the only rows the table shows. A page at a deep offset then skips index
-- entries alone, without a table lookup per skipped row to test missing_since (bench/library-table.ts).
DROP INDEX tracks_title_nocase;
DROP INDEX tracks_artist_nocase;
DROP INDEX tracks_album_nocase;
DROP INDEX tracks_genre_nocase;
DROP INDEX tracks_duration;
DROP INDEX tracks_added;
CREATE INDEX tracks_present_title ON tracks(title COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_artist ON tracks(artist COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_album ON tracks(album COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_genre ON tracks(genre COLLATE NOCASE) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_year ON tracks(year) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_duration ON tracks(duration_ms) WHERE missing_since IS NULL;
CREATE INDEX tracks_present_added ON tracks(added_at) WHERE missing_since IS NULL;
