-- 0110_tags_fts: a second full-text index over the tag columns only (title, artist, album, genre, other tags),
-- for search's tag pass ("tracks whose tags match rank first", [Note: Bounded ranking] in main/db/search.ts).
-- Finding the newest tag matches in tracks_fts means walking a word's whole doclist and testing the column of
-- every hit; a word that is common in captions and rare in tags ("drums", "low quality recording") walked
-- every captioned track at 1,000,000 tracks. Here those doclists hold only tag hits, so the walk is as long as
-- the answer. Contentless (the text stays in tracks_fts and tracks): search reads its text from tracks_fts.
-- Same tokenizer and prefix indexes as tracks_fts, so the same MATCH expressions find the same rows.
CREATE VIRTUAL TABLE tracks_tags_fts USING fts5(
  title, artist, album, genre, tags,
  content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3 4'
);
INSERT INTO tracks_tags_fts(rowid, title, artist, album, genre, tags)
SELECT t.id, t.title, coalesce(t.artists_json, t.artist), t.album, t.genre,
       concat_ws(' ', t.album_artist, t.mood, t.comment, t.musical_key, t.year)
FROM tracks t;

CREATE TRIGGER tracks_tags_fts_ai AFTER INSERT ON tracks BEGIN
  INSERT INTO tracks_tags_fts(rowid, title, artist, album, genre, tags)
  VALUES (new.id, new.title, coalesce(new.artists_json, new.artist), new.album, new.genre,
          concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year));
END;
-- A contentless table updates a row by replacing it: every column is given.
CREATE TRIGGER tracks_tags_fts_au AFTER UPDATE OF title, artist, artists_json, album, album_artist, genre, mood,
    comment, musical_key, year ON tracks BEGIN
  UPDATE tracks_tags_fts SET title = new.title, artist = coalesce(new.artists_json, new.artist), album = new.album,
    genre = new.genre, tags = concat_ws(' ', new.album_artist, new.mood, new.comment, new.musical_key, new.year)
  WHERE rowid = new.id;
END;
CREATE TRIGGER tracks_tags_fts_ad AFTER DELETE ON tracks BEGIN
  DELETE FROM tracks_tags_fts WHERE rowid = old.id;
END;
