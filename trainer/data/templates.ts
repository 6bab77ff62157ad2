/**
 * @file Turns a track's tags into training captions and question/answer pairs with fixed templates. Pure TS.
 *
 * [Note: Tag templates]
 * A user's library rarely has captions, but it has tags. Each usable tag becomes one Q&A pair in MusiLingo's
 * MusicQA style ("What is the genre of this music?" → "The genre of this music is jazz.") and all of them
 * together one short caption for the captioning question. Only what can be heard is used: genre, mood,
 * instruments (from native instrument tags, ID3 TMCL musician credits, or instrument words in the comment),
 * tempo, key and a prose comment. Title, artist, album and year are not (the model cannot hear them, and
 * training on them teaches it to invent names). Comments that look like ripper/encoder stamps, URLs or
 * numbers are ignored. Phrasings vary by a hash of the track so the model does not learn one sentence.
 */

/** The tag fields the templates read (a subset of a tracks row, already parsed). */
export interface TrackTags {
  readonly genres: readonly string[];
  readonly mood?: string | null | undefined;
  readonly comment?: string | null | undefined;
  readonly bpm?: number | null | undefined;
  readonly musicalKey?: string | null | undefined;
  /** Instruments named by native tags, if any. */
  readonly instruments?: readonly string[] | undefined;
}

/** One question and its target answer. */
export interface QaPair {
  readonly question: string;
  readonly answer: string;
  /** Which tag it came from: 'caption', 'genre', 'mood', 'instruments', 'tempo', 'key'. */
  readonly kind: string;
}

/** The captioning question of the reference. */
export const CAPTION_QUESTION_TEXT = 'Please give a caption to the music.';

const INSTRUMENT_WORDS = [
  'acoustic guitar', 'electric guitar', 'bass guitar', 'double bass', 'drum machine', 'grand piano', 'electric piano',
  'piano', 'guitar', 'bass', 'drums', 'percussion', 'violin', 'viola', 'cello', 'strings', 'trumpet', 'trombone',
  'saxophone', 'sax', 'clarinet', 'flute', 'oboe', 'bassoon', 'horn', 'tuba', 'harp', 'organ', 'synthesizer', 'synth',
  'keyboard', 'harmonica', 'accordion', 'banjo', 'mandolin', 'ukulele', 'sitar', 'tabla', 'marimba', 'xylophone',
  'vibraphone', 'glockenspiel', 'choir', 'vocals', 'female vocals', 'male vocals', 'rhodes', 'timpani', 'bongos',
  'congas', 'tambourine', 'steel drums', 'bagpipes', 'didgeridoo', 'koto', 'shamisen', 'erhu', 'oud', 'theremin',
];

/** FNV-1a 32-bit hash of a string (deterministic template choice and data splits). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function pick<T>(options: readonly T[], key: string): T {
  return options[fnv1a(key) % options.length]!;
}

function clean(s: string | null | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').trim();
}

/** "a, b and c" */
export function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** True when a comment reads like a description rather than an encoder stamp, URL or number. */
export function isProseComment(comment: string): boolean {
  const c = clean(comment);
  if (c.length < 12) return false;
  if (/https?:|www\.|\.com\b|@/i.test(c)) return false;
  if (/\b(ripped|encoded|exact ?audio ?copy|eac|lame|itun|itunes|cdex|freedb|musicbrainz|amazon|purchased|downloaded|track \d+)\b/i.test(c)) return false;
  if (/^[\s\dA-F]+$/i.test(c)) return false; // iTunNORM-style hex, catalogue numbers
  const words = c.split(' ').filter((w) => /[a-z]/i.test(w));
  return words.length >= 3;
}

/** Instrument words found in free text, most specific first, without repeats ("acoustic guitar", not also "guitar"). */
export function instrumentsInText(text: string): string[] {
  const t = ` ${text.toLowerCase().replace(/[^a-z ]+/g, ' ')} `;
  const found: string[] = [];
  for (const w of INSTRUMENT_WORDS) {
    if (t.includes(` ${w} `) && !found.some((f) => f.includes(w))) found.push(w);
  }
  return found;
}

/** "Am" → "A minor", "C#" → "C# major", "Ebm" → "Eb minor"; other spellings (Camelot "8A", "A min") are tidied. */
export function describeKey(raw: string): string {
  const k = clean(raw);
  const m = /^([A-Ga-g])([#b♯♭]?)\s*(m|min|minor|maj|major|M)?$/.exec(k);
  if (!m) return k;
  const note = m[1]!.toUpperCase() + (m[2] === '♯' ? '#' : m[2] === '♭' ? 'b' : (m[2] ?? ''));
  const minor = m[3] !== undefined && /^(m|min|minor)$/.test(m[3]);
  return `${note} ${minor ? 'minor' : 'major'}`;
}

function tempoWord(bpm: number): string {
  if (bpm < 76) return 'slow';
  if (bpm < 108) return 'moderate';
  if (bpm < 140) return 'fast';
  return 'very fast';
}

/** The usable facts of a track's tags, normalised; empty fields are dropped. */
export interface TagFacts {
  readonly genres: string[];
  readonly mood: string;
  readonly instruments: string[];
  readonly bpm: number | undefined;
  readonly key: string;
  readonly comment: string;
}

/** Extracts {@link TagFacts}; see [Note: Tag templates]. */
export function tagFacts(tags: TrackTags): TagFacts {
  const genres = [...new Set(tags.genres.map(clean).filter((g) => g.length > 0 && !/^\(?\d+\)?$/.test(g)).map((g) => g.toLowerCase()))];
  const commentRaw = clean(tags.comment);
  const comment = isProseComment(commentRaw) ? commentRaw.replace(/[.!]*$/, '.') : '';
  const instruments = [
    ...new Set([...(tags.instruments ?? []).map((i) => clean(i).toLowerCase()).filter(Boolean), ...instrumentsInText(commentRaw)]),
  ];
  const bpm = tags.bpm !== null && tags.bpm !== undefined && Number.isFinite(tags.bpm) && tags.bpm >= 30 && tags.bpm <= 300 ? Math.round(tags.bpm) : undefined;
  return { genres, mood: clean(tags.mood).toLowerCase(), instruments, bpm, key: tags.musicalKey ? describeKey(tags.musicalKey) : '', comment };
}

/** True when the facts give at least one training pair. */
export function hasFacts(f: TagFacts): boolean {
  return f.genres.length > 0 || f.mood !== '' || f.instruments.length > 0 || f.bpm !== undefined || f.key !== '' || f.comment !== '';
}

/** One caption from all facts, or undefined when there are none. `seedKey` varies the phrasing per track. */
export function captionFromFacts(f: TagFacts, seedKey: string): string | undefined {
  const parts: string[] = [];
  if (f.genres.length > 0) {
    parts.push(pick([`This is a ${joinList(f.genres)} song.`, `A ${joinList(f.genres)} track.`, `This music is ${joinList(f.genres)}.`], `${seedKey}:g`));
  }
  if (f.mood) parts.push(pick([`The mood is ${f.mood}.`, `It feels ${f.mood}.`], `${seedKey}:m`));
  if (f.instruments.length > 0) parts.push(pick([`It features ${joinList(f.instruments)}.`, `You can hear ${joinList(f.instruments)}.`], `${seedKey}:i`));
  if (f.bpm !== undefined) parts.push(`The tempo is ${tempoWord(f.bpm)}, around ${f.bpm} BPM.`);
  if (f.key) parts.push(`It is in ${f.key}.`);
  if (f.comment) parts.push(f.comment);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The caption and the per-tag Q&A pairs of a track's tags ([Note: Tag templates]). */
export function pairsFromTags(tags: TrackTags, seedKey: string): QaPair[] {
  const f = tagFacts(tags);
  const out: QaPair[] = [];
  const caption = captionFromFacts(f, seedKey);
  if (caption) out.push({ question: CAPTION_QUESTION_TEXT, answer: caption, kind: 'caption' });
  if (f.genres.length > 0) {
    out.push({
      question: pick(['What is the genre of this music?', 'What genre is this song?'], `${seedKey}:qg`),
      answer: `The genre of this music is ${joinList(f.genres)}.`,
      kind: 'genre',
    });
  }
  if (f.mood) out.push({ question: 'What is the mood of this music?', answer: `The mood of this music is ${f.mood}.`, kind: 'mood' });
  if (f.instruments.length > 0) {
    out.push({
      question: pick(['What instruments are used in this music?', 'Which instruments can be heard?'], `${seedKey}:qi`),
      answer: `This music features ${joinList(f.instruments)}.`,
      kind: 'instruments',
    });
  }
  if (f.bpm !== undefined) {
    out.push({ question: 'What is the tempo of this music?', answer: `The tempo is ${tempoWord(f.bpm)}, around ${f.bpm} beats per minute.`, kind: 'tempo' });
  }
  if (f.key) out.push({ question: 'What key is this music in?', answer: `This music is in ${f.key}.`, kind: 'key' });
  return out;
}

/**
 * Instruments named in a track's native tags (music-metadata's `{format: [{id, value}]}`): tags whose id
 * mentions "instrument", and ID3v2.4 TMCL musician credits (instrument → person pairs).
 */
export function instrumentsFromNativeTags(nativeTagsJson: string | null | undefined): string[] {
  if (!nativeTagsJson) return [];
  let native: unknown;
  try {
    native = JSON.parse(nativeTagsJson);
  } catch {
    return [];
  }
  const out: string[] = [];
  const addText = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const s of v.split(/[;,/]/)) if (s.trim()) out.push(s.trim());
    } else if (Array.isArray(v)) {
      v.forEach(addText);
    }
  };
  if (typeof native !== 'object' || native === null) return [];
  for (const tags of Object.values(native as Record<string, unknown>)) {
    if (!Array.isArray(tags)) continue;
    for (const t of tags as { id?: unknown; value?: unknown }[]) {
      const id = typeof t.id === 'string' ? t.id : '';
      if (/instrument/i.test(id)) addText(t.value);
      else if (id === 'TMCL') {
        if (Array.isArray(t.value)) {
          const v = t.value as unknown[];
          for (let i = 0; i < v.length; i += 2) addText(v[i]);
        } else if (t.value && typeof t.value === 'object') {
          out.push(...Object.keys(t.value as object));
        }
      }
    }
  }
  return [...new Set(out.map((s) => s.toLowerCase()))];
}
