/**
 * @file Readers for the paper's evaluation sets: MusicCaps, MusicInstruct (short/long) and MusicQA (any Node process).
 *
 * [Note: Evaluation items and ids]
 * Every reader returns {@link EvalItem}s: a stable id, the question the model is asked, the reference
 * answer, and the audio the item needs. The splits follow MusiLingo's loaders:
 * - MusicCaps (musiccaps-public.csv): rows with is_audioset_eval = True (2,858 of 5,521); question
 *   "Please give a caption to the music."; id = ytid; audio = the clip named by ytid.
 * - MusicInstruct ({"QA": [...]}, music_instruct_short.json / music_instruct_long.json): items with
 *   is_audioset_eval true; question/answer from the item; audio by ytid. One clip has several
 *   questions, so id = `<ytid>#<k>`, k counting that clip's test items in file order from 0.
 * - MusicQA (EvalMusicQA.json: [{audio_name, conversation: [{from, value}, …]}]): the first turn is the
 *   question and the second the reference answer, as the reference loader takes them; id =
 *   `<audio_name>#<k>` likewise.
 * Audio is found in a folder the user gives (searched recursively): for MusicCaps and MusicInstruct a
 * file whose name without extension is the ytid; for MusicQA the audio_name as a relative path or a
 * file name anywhere below. Items without audio are reported, never silently dropped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

/** Datasets the evaluation knows. */
export const DATASETS = ['musiccaps', 'mi-short', 'mi-long', 'musicqa'] as const;
/** One of {@link DATASETS}. */
export type DatasetName = (typeof DATASETS)[number];

/** MusiLingo's captioning instruction. */
export const CAPTION_QUESTION = 'Please give a caption to the music.';

/** One evaluation item. */
export interface EvalItem {
  readonly id: string;
  readonly question: string;
  readonly reference: string;
  /** ytid (MusicCaps, MusicInstruct) or audio_name (MusicQA): what names the audio. */
  readonly audioKey: string;
  /** Clip bounds in the source recording when the set gives them (MusicCaps), in seconds. */
  readonly startS?: number;
  readonly endS?: number;
}

/** A dataset file is missing or not in the expected format. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/**
 * RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes; CRLF or LF line ends;
 * a final line end is optional. Like Python's csv module, a quote inside an unquoted field is kept as a
 * literal character. Returns rows of fields.
 */
export function parseCsv(text: string, source = 'CSV'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (i = start; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new DatasetError(`${source}: a quoted field is not closed before the end of the file`);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new DatasetError(`Cannot read the ${what} file ${path}: ${(e as Error).message}`);
  }
}

function readJson(path: string, what: string): unknown {
  const text = readText(path, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DatasetError(`The ${what} file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Which part of a set to read. */
export type Split = 'eval' | 'train' | 'all';

/** MusicCaps rows from musiccaps-public.csv; `split` 'eval' = is_audioset_eval True (the paper's test set). */
export function readMusicCaps(csvPath: string, split: Split = 'eval'): EvalItem[] {
  const rows = parseCsv(readText(csvPath, 'MusicCaps'), csvPath);
  const header = rows[0] ?? [];
  const col = (name: string): number => {
    const k = header.indexOf(name);
    if (k < 0) throw new DatasetError(`${csvPath} is not a MusicCaps CSV: no "${name}" column (found: ${header.join(', ')})`);
    return k;
  };
  const [cYtid, cCaption, cEval, cStart, cEnd] = ['ytid', 'caption', 'is_audioset_eval', 'start_s', 'end_s'].map(col) as [number, number, number, number, number];
  const items: EvalItem[] = [];
  rows.slice(1).forEach((r, k) => {
    if (r.length === 1 && r[0] === '') return;
    if (r.length !== header.length) {
      throw new DatasetError(`${csvPath}, record ${k + 2}: ${r.length} fields, expected ${header.length}`);
    }
    const isEval = r[cEval] === 'True';
    if ((split === 'eval' && !isEval) || (split === 'train' && isEval)) return;
    items.push({
      id: r[cYtid]!,
      question: CAPTION_QUESTION,
      reference: r[cCaption]!,
      audioKey: r[cYtid]!,
      startS: Number(r[cStart]),
      endS: Number(r[cEnd]),
    });
  });
  return items;
}

function numbered(items: { key: string; question: string; reference: string }[]): EvalItem[] {
  const seen = new Map<string, number>();
  return items.map(({ key, question, reference }) => {
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    return { id: `${key}#${k}`, question, reference, audioKey: key };
  });
}

/** MusicInstruct items ({"QA": [{ytid, question, answer, is_audioset_eval, …}]}); 'eval' = the test split. */
export function readMusicInstruct(jsonPath: string, split: Split = 'eval'): EvalItem[] {
  const data = readJson(jsonPath, 'MusicInstruct');
  const qa = (data as { QA?: unknown } | null)?.QA;
  if (!Array.isArray(qa)) throw new DatasetError(`${jsonPath} is not a MusicInstruct file: expected {"QA": [...]}`);
  const picked: { key: string; question: string; reference: string }[] = [];
  qa.forEach((raw: unknown, k) => {
    const it = raw as Record<string, unknown>;
    if (typeof it.ytid !== 'string' || typeof it.question !== 'string' || typeof it.answer !== 'string') {
      throw new DatasetError(`${jsonPath}, QA[${k}]: expected string ytid, question and answer`);
    }
    const isEval = it.is_audioset_eval === true || it.is_audioset_eval === 'True';
    if ((split === 'eval' && !isEval) || (split === 'train' && isEval)) return;
    picked.push({ key: it.ytid, question: it.question, reference: it.answer });
  });
  return numbered(picked);
}

/** MusicQA items ([{audio_name, conversation: [{from, value}, …]}]): question = turn 0, reference = turn 1. */
export function readMusicQa(jsonPath: string): EvalItem[] {
  const data = readJson(jsonPath, 'MusicQA');
  if (!Array.isArray(data)) throw new DatasetError(`${jsonPath} is not a MusicQA file: expected a JSON array`);
  const picked = data.map((raw: unknown, k) => {
    const it = raw as { audio_name?: unknown; conversation?: { value?: unknown }[] };
    const q = it.conversation?.[0]?.value;
    const a = it.conversation?.[1]?.value;
    if (typeof it.audio_name !== 'string' || typeof q !== 'string' || typeof a !== 'string') {
      throw new DatasetError(`${jsonPath}, item ${k}: expected audio_name and a conversation of at least two turns`);
    }
    return { key: it.audio_name, question: q, reference: a };
  });
  return numbered(picked);
}

/** Reads `dataset` from `annPath` (CSV for MusicCaps, JSON otherwise), test split. */
export function readDataset(dataset: DatasetName, annPath: string): EvalItem[] {
  switch (dataset) {
    case 'musiccaps':
      return readMusicCaps(annPath, 'eval');
    case 'mi-short':
    case 'mi-long':
      return readMusicInstruct(annPath, 'eval');
    case 'musicqa':
      return readMusicQa(annPath);
  }
}

/** Audio file extensions the audio search accepts. */
export const AUDIO_EXTENSIONS = new Set(['.wav', '.mp3', '.flac', '.ogg', '.opus', '.m4a', '.aac', '.aif', '.aiff', '.npy', '.webm']);

/** Files found under an audio folder, indexed by file name, stem and relative path. */
export interface AudioIndex {
  readonly byStem: ReadonlyMap<string, string>;
  readonly byName: ReadonlyMap<string, string>;
  readonly byRelPath: ReadonlyMap<string, string>;
}

/** Scans `dir` recursively for audio files (the first found wins for a duplicate name). */
export function indexAudioFolder(dir: string): AudioIndex {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw new DatasetError(`Audio folder ${dir} cannot be used: ${(e as Error).message}`);
  }
  const byStem = new Map<string, string>();
  const byName = new Map<string, string>();
  const byRelPath = new Map<string, string>();
  const walk = (abs: string, rel: string): void => {
    for (const ent of readdirSync(abs, { withFileTypes: true })) {
      const a = join(abs, ent.name);
      const r = rel === '' ? ent.name : `${rel}/${ent.name}`;
      if (ent.isDirectory()) walk(a, r);
      else if (AUDIO_EXTENSIONS.has(extname(ent.name).toLowerCase())) {
        const stem = basename(ent.name, extname(ent.name));
        if (!byStem.has(stem)) byStem.set(stem, a);
        if (!byName.has(ent.name)) byName.set(ent.name, a);
        byRelPath.set(r, a);
      }
    }
  };
  walk(dir, '');
  return { byStem, byName, byRelPath };
}

/** The audio file of `item`, or undefined when the folder has none. */
export function findAudio(dataset: DatasetName, item: EvalItem, index: AudioIndex): string | undefined {
  if (dataset === 'musicqa') {
    const key = item.audioKey.replaceAll('\\', '/').replace(/^\.\//, '');
    return index.byRelPath.get(key) ?? index.byName.get(basename(key)) ?? index.byStem.get(basename(key, extname(key)));
  }
  return index.byStem.get(item.audioKey);
}

/** Items split into those with audio (paired with their file) and those without. */
export function resolveAudio(
  dataset: DatasetName,
  items: readonly EvalItem[],
  index: AudioIndex,
): { found: { item: EvalItem; audioPath: string }[]; missing: EvalItem[] } {
  const found: { item: EvalItem; audioPath: string }[] = [];
  const missing: EvalItem[] = [];
  for (const item of items) {
    const p = findAudio(dataset, item, index);
    if (p === undefined) missing.push(item);
    else found.push({ item, audioPath: p });
  }
  return { found, missing };
}
