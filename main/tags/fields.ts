/**
 * @file The tag fields the tagger suggests and writes, and where each one lives in each tag format. Main
 * process, CLI and tests. This module is the one owner of the mapping; docs/tagging.md shows it as a table.
 *
 * [Note: Tag slots]
 * A field (genre, caption, …) is written into one or more *slots*: a concrete place in a concrete tag format
 * ("ID3 TCON", "ID3 COMM with description MusiLingo", "Vorbis GENRE", "MP4 ----:com.apple.iTunes:MOOD").
 * The journal records old and new values per slot, not per field, so an undo restores exactly what each slot
 * held, including "absent", even where one field fans out into two slots (the caption goes into the comment and
 * into MUSILINGO_CAPTION). The mapping follows Picard's conventions.
 */

/** The fields the tagger knows, in display order. */
export const TAG_FIELDS = ['genre', 'mood', 'instruments', 'vocals', 'tempo', 'caption'] as const;
/** One tag field. */
export type TagField = (typeof TAG_FIELDS)[number];

/** Fields that hold several values (written as multi-value tags). */
export const MULTI_VALUE_FIELDS: ReadonlySet<TagField> = new Set<TagField>(['genre', 'instruments']);

/** Whether `s` names a tag field. */
export function isTagField(s: string): s is TagField {
  return (TAG_FIELDS as readonly string[]).includes(s);
}

/** Parses a comma-separated field list (`genre,mood`), or throws naming the allowed values. */
export function parseFieldList(s: string): TagField[] {
  const out: TagField[] = [];
  for (const raw of s.split(',')) {
    const f = raw.trim().toLowerCase();
    if (!f) continue;
    if (!isTagField(f)) throw new Error(`Unknown tag field "${raw.trim()}". Expected one of: ${TAG_FIELDS.join(', ')}`);
    if (!out.includes(f)) out.push(f);
  }
  return out;
}

/** The tag family a file format stores its tags in. */
export type TagFamily = 'id3v2.4' | 'id3v2.3' | 'xiph' | 'mp4';

/** A slot: see [Note: Tag slots]. `key` is unique within a family. */
export interface TagSlot {
  /** Stable key used in the journal: 'TCON', 'TMOO', 'COMM:MusiLingo', 'TXXX:MUSILINGO_CAPTION', 'GENRE', '©gen', '----:MOOD'. */
  readonly key: string;
  readonly multi: boolean;
}

/** The description of our ID3 comment frame and the name of the caption field. */
export const COMMENT_DESCRIPTION = 'MusiLingo';

const CUSTOM: Record<Exclude<TagField, 'genre' | 'mood' | 'caption'>, string> = {
  instruments: 'MUSILINGO_INSTRUMENTS',
  vocals: 'MUSILINGO_VOCALS',
  tempo: 'MUSILINGO_TEMPO',
};

/**
 * The slots `field` is written to in `family`. `riffInfo`: the file is a WAV that also has a RIFF INFO chunk.
 *
 * [Note: Multi-value fields where the format has none]
 * ID3v2.4 separates values with NUL, Vorbis comments and MP4 `----` atoms repeat the field. ID3v2.3 has no
 * multi-value text (a NUL-separated v2.3 frame is read differently by different tools) and iTunes reads one
 * `©gen`; there the values are joined with "; ", the separator the library scanner already splits genres on.
 * A WAV's RIFF INFO `IGNR` gets the genre too, because ffprobe and Windows read INFO before the ID3 chunk.
 */
export function slotsFor(family: TagFamily, field: TagField, riffInfo = false): TagSlot[] {
  const multi = MULTI_VALUE_FIELDS.has(field) && family !== 'id3v2.3';
  const id3 = family === 'id3v2.4' || family === 'id3v2.3';
  switch (field) {
    case 'genre':
      if (family === 'mp4') return [{ key: '©gen', multi: false }];
      if (id3) return [{ key: 'TCON', multi }, ...(riffInfo ? [{ key: 'INFO:IGNR', multi: false }] : [])];
      return [{ key: 'GENRE', multi }];
    case 'mood':
      // TMOO exists only in ID3v2.4; in a v2.3 tag Picard writes TXXX:MOOD.
      if (family === 'id3v2.4') return [{ key: 'TMOO', multi }];
      if (family === 'id3v2.3') return [{ key: 'TXXX:MOOD', multi }];
      return [{ key: family === 'xiph' ? 'MOOD' : '----:MOOD', multi }];
    case 'caption':
      if (id3) return [{ key: `COMM:${COMMENT_DESCRIPTION}`, multi }, { key: 'TXXX:MUSILINGO_CAPTION', multi }];
      if (family === 'xiph') return [{ key: 'DESCRIPTION', multi }, { key: 'MUSILINGO_CAPTION', multi }];
      return [{ key: '©cmt', multi }, { key: '----:MUSILINGO_CAPTION', multi }];
    default: {
      const name = CUSTOM[field];
      if (id3) return [{ key: `TXXX:${name}`, multi }];
      return [{ key: family === 'xiph' ? name : `----:${name}`, multi }];
    }
  }
}
