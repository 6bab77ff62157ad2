/**
 * @file Reads and writes tag slots (see [Note: Tag slots]) through node-taglib-sharp. Main process, CLI,
 * tests and benches. The only module that imports the tag library, so swapping it touches one file.
 *
 * [Note: Choosing node-taglib-sharp]
 * docs/tagging.md has the evidence. In short: it runs on Node 20 (taglib-wasm needs Node ≥ 22.6 for WASI),
 * it keeps an ID3v2.3 tag at v2.3 (taglib-wasm saved it as v2.4), and it gives frame-level access (COMM with a
 * description, TXXX, MP4 `----` atoms), which taglib-wasm's property map dropped for MP4 MOOD and custom fields.
 */
import { extname } from 'node:path';
import {
  ByteVector,
  File,
  Id3v2FrameClassType,
  Id3v2FrameIdentifiers,
  Id3v2Tag,
  Mpeg4AppleDataBoxFlagType,
  Mpeg4AppleTag,
  Mpeg4BoxType,
  StringType,
  TagTypes,
  XiphComment,
  Id3v2CommentsFrame,
  Id3v2TextInformationFrame,
  Id3v2UserTextInformationFrame,
  Id3v2Settings,
} from 'node-taglib-sharp';
import type { InfoTag as RiffInfoTag } from 'node-taglib-sharp';
import type { TagFamily } from './fields';

// Genres are written as the text given: no ID3v1 numeric codes ("(17)" for Rock) in v2.3, and no splitting of a
// v2.3 TCON on ";" or "/" when reading, so what is journaled is what the frame holds.
Id3v2Settings.useNumericGenres = false;
Id3v2Settings.useNonStandardV2V3GenreSeparators = false;
Id3v2Settings.useNonStandardV2V3NumericGenres = false;

/** Container formats the tagger writes, by lower-case extension. Anything else is "unsupported for writing". */
const FORMAT_BY_EXT: Readonly<Record<string, 'id3' | 'xiph' | 'mp4'>> = {
  '.mp3': 'id3',
  '.wav': 'id3',
  '.aif': 'id3',
  '.aiff': 'id3',
  '.flac': 'xiph',
  '.ogg': 'xiph',
  '.oga': 'xiph',
  '.opus': 'xiph',
  '.m4a': 'mp4',
  '.m4b': 'mp4',
  '.mp4': 'mp4',
};

/** Extensions the tagger can write, for messages. */
export const WRITABLE_EXTENSIONS: readonly string[] = Object.keys(FORMAT_BY_EXT);

/** Whether the tagger can write tags into `path` (by its extension). */
export function isWritableFormat(path: string): boolean {
  return extname(path).toLowerCase() in FORMAT_BY_EXT;
}

/** Values of one slot: null when the slot is absent from the file. */
export type SlotValue = readonly string[] | null;

/** An open file's tags. Call {@link TagDocument.dispose} when done. */
export interface TagDocument {
  readonly family: TagFamily;
  /** A WAV with a RIFF INFO chunk (slots 'INFO:xxxx' then exist); see [Note: Multi-value fields where the format has none]. */
  readonly hasRiffInfo: boolean;
  read(key: string): SlotValue;
  /** Sets a slot; null or [] removes it. */
  write(key: string, values: SlotValue): void;
  /** Writes the changed tags into the file this document was opened on. */
  save(): void;
  dispose(): void;
}

/**
 * Opens `path` for tag reading/writing; its format comes from the extension of `namedAs` (a temporary copy is
 * opened under the original's name). Throws an Error naming the file for unsupported or unreadable files.
 */
export function openTags(path: string, namedAs: string = path): TagDocument {
  const ext = extname(namedAs).toLowerCase();
  const kind = FORMAT_BY_EXT[ext];
  if (!kind) throw new Error(`"${namedAs}" is not a format the tagger writes (supported: ${WRITABLE_EXTENSIONS.join(', ')})`);
  let file: File;
  try {
    file = File.createFromPath(path, `taglib/${ext.slice(1)}`);
  } catch (e) {
    throw new Error(`"${path}" could not be opened for tagging: ${(e as Error).message}`);
  }
  const onDisk = file.tagTypesOnDisk;
  const wanted = kind === 'id3' ? TagTypes.Id3v2 : kind === 'xiph' ? TagTypes.Xiph : TagTypes.Apple;
  // The library creates each format's default tags (ID3v1 next to ID3v2 for MP3, RIFF INFO for WAV) on open.
  // Saving them would add tags the file never had; drop every type that was not on disk and is not ours.
  // An ID3 tag the library created on open was filled with copies of the file's other tags (a WAV's RIFF INFO):
  // that would write fields the user never asked for, and an undo would not know to remove them. Drop it too;
  // getTag(…, true) below creates an empty one. (Xiph is left alone: Ogg reports no tag types on disk although
  // its comment header always exists.)
  const extra = TagTypes.AllTags & ~onDisk & ~(kind === 'id3' ? 0 : wanted);
  if (extra) file.removeTags(extra);
  const tag = file.getTag(wanted, true);
  if (!tag) {
    file.dispose();
    throw new Error(`"${path}" cannot hold the tag this format needs`);
  }
  const base = { save: () => file.save(), dispose: () => file.dispose(), hasRiffInfo: false };
  if (tag instanceof Id3v2Tag) {
    const info = onDisk & TagTypes.RiffInfo ? (file.getTag(TagTypes.RiffInfo, false) as RiffInfoTag | undefined) : undefined;
    const id3 = id3Slots(tag);
    if (!info) return { ...base, ...id3 };
    return {
      ...base,
      hasRiffInfo: true,
      family: id3.family,
      // INFO strings are NUL-terminated on disk; the library keeps the NUL, music-metadata and ffprobe drop it.
      read: (key) => (key.startsWith('INFO:') ? nonEmpty(info.getValuesAsStrings(key.slice(5)).map((v) => v.replace(/\0+$/, ''))) : id3.read(key)),
      write(key, values) {
        if (!key.startsWith('INFO:')) id3.write(key, values);
        else if (values?.length) info.setValuesFromStrings(key.slice(5), [...values]);
        else info.removeValue(key.slice(5));
      },
    };
  }
  if (tag instanceof XiphComment) return { ...base, ...xiphSlots(tag) };
  if (tag instanceof Mpeg4AppleTag) return { ...base, ...mp4Slots(tag) };
  file.dispose();
  throw new Error(`"${path}": unexpected tag type from the tag library`);
}

function nonEmpty(values: readonly string[]): SlotValue {
  return values.length ? [...values] : null;
}

function id3Slots(tag: Id3v2Tag): Pick<TagDocument, 'family' | 'read' | 'write'> {
  const family: TagFamily = tag.version === 3 ? 'id3v2.3' : 'id3v2.4';
  const comments = (desc: string): Id3v2CommentsFrame[] =>
    tag.getFramesByClassType<Id3v2CommentsFrame>(Id3v2FrameClassType.CommentsFrame).filter((f) => f.description === desc);
  const userTexts = (desc: string): Id3v2UserTextInformationFrame[] =>
    tag.getFramesByClassType<Id3v2UserTextInformationFrame>(Id3v2FrameClassType.UserTextInformationFrame).filter((f) => f.description === desc);
  const textId = (key: string) => {
    const id = (Id3v2FrameIdentifiers as Record<string, (typeof Id3v2FrameIdentifiers)['TCON']>)[key];
    if (!id) throw new Error(`unknown ID3 frame ${key}`);
    return id;
  };
  const texts = (key: string): Id3v2TextInformationFrame[] =>
    tag.getFramesByIdentifier<Id3v2TextInformationFrame>(Id3v2FrameClassType.TextInformationFrame, textId(key));
  return {
    family,
    read(key) {
      if (key.startsWith('COMM:')) return nonEmpty(comments(key.slice(5)).map((f) => f.text));
      if (key.startsWith('TXXX:')) return nonEmpty(userTexts(key.slice(5)).flatMap((f) => f.text));
      return nonEmpty(texts(key).flatMap((f) => f.text));
    },
    write(key, values) {
      const v = values ?? [];
      if (key.startsWith('COMM:')) {
        const desc = key.slice(5);
        for (const f of comments(desc)) tag.removeFrame(f);
        for (const text of v) {
          const f = Id3v2CommentsFrame.fromDescription(desc, 'eng', StringType.UTF16);
          f.text = text;
          tag.addFrame(f);
        }
      } else if (key.startsWith('TXXX:')) {
        const desc = key.slice(5);
        for (const f of userTexts(desc)) tag.removeFrame(f);
        if (v.length) {
          const f = Id3v2UserTextInformationFrame.fromDescription(desc, StringType.UTF16);
          f.text = [...v];
          tag.addFrame(f);
        }
      } else {
        const id = textId(key);
        tag.removeFrames(id);
        if (v.length) {
          const f = Id3v2TextInformationFrame.fromIdentifier(id, StringType.UTF16);
          f.text = [...v];
          tag.addFrame(f);
        }
      }
    },
  };
}

function xiphSlots(tag: XiphComment): Pick<TagDocument, 'family' | 'read' | 'write'> {
  return {
    family: 'xiph',
    read: (key) => nonEmpty(tag.getField(key)),
    write(key, values) {
      if (values?.length) tag.setFieldAsStrings(key, ...values);
      else tag.removeField(key);
    },
  };
}

const ITUNES_MEAN = 'com.apple.iTunes';
const MP4_BOXES: Readonly<Record<string, ByteVector>> = { '©gen': Mpeg4BoxType.GEN, '©cmt': Mpeg4BoxType.CMT };

function mp4Slots(tag: Mpeg4AppleTag): Pick<TagDocument, 'family' | 'read' | 'write'> {
  const box = (key: string): ByteVector => {
    const b = MP4_BOXES[key];
    if (!b) throw new Error(`unknown MP4 atom ${key}`);
    return b;
  };
  return {
    family: 'mp4',
    read(key) {
      if (key.startsWith('----:')) return nonEmpty(tag.getItunesStrings(ITUNES_MEAN, key.slice(5)));
      // Raw data boxes, not getQuickTimeStrings(): that one splits on ";", which would change a comment.
      return nonEmpty(tag.getQuickTimeData(box(key), Mpeg4AppleDataBoxFlagType.ContainsText).map((d) => d.toString(StringType.UTF8)));
    },
    write(key, values) {
      if (key.startsWith('----:')) {
        tag.setItunesStrings(ITUNES_MEAN, key.slice(5), ...(values ?? []));
        return;
      }
      const data = values?.length ? values.map((s) => ByteVector.fromString(s, StringType.UTF8)) : undefined;
      tag.setQuickTimeData(box(key), data as ByteVector[], Mpeg4AppleDataBoxFlagType.ContainsText);
    },
  };
}
