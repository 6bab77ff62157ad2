/**
 * @file The model catalog: which checkpoints the app knows how to fetch from the Hugging Face Hub, what each
 * is good for, roughly how big it is and under which licence it may be used. Plain data; main, CLI and tests.
 *
 * [Note: Catalog sizes are approximate]
 * The Hub is the source of truth for exact byte sizes and hashes: the downloader asks it (file metadata and the
 * LFS sha256) before fetching anything. The sizes here are estimates from parameter counts (MERT-v1-330M in
 * float32 ≈ 330 M × 4 B, Vicuna-7B in float16 ≈ 6.74 B × 2 B, llama_proj 1024×4096 float32), used only to
 * tell the user what to expect before the Hub has been asked. They are labelled "approx." wherever shown.
 */

/** One licence that applies to (part of) a model. */
export interface LicenseInfo {
  /** SPDX-like short name, e.g. "CC-BY-NC-4.0". */
  readonly id: string;
  /** What the licence covers ("MERT-v1-330M encoder weights"). */
  readonly covers: string;
  /** False when commercial use is not allowed. */
  readonly isCommercialUseAllowed: boolean;
  readonly url: string;
}

/** A downloadable model in the catalog. */
export interface CatalogEntry {
  /** Stable id used by the CLI, the DB and the UI: `musilingo-long`. */
  readonly id: string;
  readonly title: string;
  /** Hub repository (`owner/name`). */
  readonly repo: string;
  /** Default revision (a branch, tag or commit). */
  readonly revision: string;
  /** What the model is good for, one or two sentences for the Models page. */
  readonly goodFor: string;
  /** Approximate download size in bytes (see [Note: Catalog sizes are approximate]). */
  readonly approxSizeBytes: number;
  /** Files to fetch; `undefined` = every weight file the index lists plus the index itself. */
  readonly files?: readonly string[];
  /** Every licence that applies; all must be honoured. */
  readonly licenses: readonly LicenseInfo[];
  /** Id of the tokenizer entry this model needs, if any. */
  readonly tokenizer?: string;
  /** Kind of entry: a full MusiLingo checkpoint or a tokenizer. */
  readonly kind: 'musilingo' | 'tokenizer';
}

const MERT_LICENSE: LicenseInfo = {
  id: 'CC-BY-NC-4.0',
  covers: 'MERT-v1-330M audio encoder weights (inside every MusiLingo checkpoint)',
  isCommercialUseAllowed: false,
  url: 'https://creativecommons.org/licenses/by-nc/4.0/',
};

const LLAMA_LICENSE: LicenseInfo = {
  id: 'LLaMA-1 (non-commercial research)',
  covers: 'Vicuna-7B v0 decoder weights, derived from LLaMA-1',
  isCommercialUseAllowed: false,
  url: 'https://huggingface.co/lmsys/vicuna-7b-delta-v0',
};

const MUSICQA_LICENSE: LicenseInfo = {
  id: 'CC-BY-NC-4.0',
  covers: 'MusiLingo MusicQA fine-tune (trained on the MusicQA data set)',
  isCommercialUseAllowed: false,
  url: 'https://creativecommons.org/licenses/by-nc/4.0/',
};

const APACHE_TOKENIZER: LicenseInfo = {
  id: 'Apache-2.0',
  covers: 'Vicuna tokenizer files as published in lmsys/vicuna-7b-delta-v0 (LLaMA SentencePiece vocabulary)',
  isCommercialUseAllowed: true,
  url: 'https://www.apache.org/licenses/LICENSE-2.0',
};

const GB = 1e9;
/** MERT fp32 (~1.3 GB) + Vicuna fp16 (~13.5 GB) + llama_proj fp32 (~17 MB). */
const MUSILINGO_APPROX_BYTES = Math.round(14.8 * GB);

/** Everything the app can download, in display order. */
export const CATALOG: readonly CatalogEntry[] = [
  {
    id: 'musilingo-long',
    title: 'MusiLingo long (v1)',
    repo: 'm-a-p/MusiLingo-long-v1',
    revision: 'main',
    goodFor: 'Descriptive captions: several sentences about genre, instruments, mood and production. The default for captioning a library.',
    approxSizeBytes: MUSILINGO_APPROX_BYTES,
    licenses: [MERT_LICENSE, LLAMA_LICENSE],
    tokenizer: 'vicuna-tokenizer',
    kind: 'musilingo',
  },
  {
    id: 'musilingo-short',
    title: 'MusiLingo short (v1)',
    repo: 'm-a-p/MusiLingo-short-v1',
    revision: 'main',
    goodFor: 'Short factual answers to questions about a song (tempo, key, instruments, "is it good for running?").',
    approxSizeBytes: MUSILINGO_APPROX_BYTES,
    licenses: [MERT_LICENSE, LLAMA_LICENSE],
    tokenizer: 'vicuna-tokenizer',
    kind: 'musilingo',
  },
  {
    id: 'musilingo-musicqa',
    title: 'MusiLingo MusicQA (v1)',
    repo: 'm-a-p/MusiLingo-musicqa-v1',
    revision: 'main',
    goodFor: 'Question answering tuned on MusicQA: mixed open questions and captions.',
    approxSizeBytes: MUSILINGO_APPROX_BYTES,
    licenses: [MERT_LICENSE, MUSICQA_LICENSE, LLAMA_LICENSE],
    tokenizer: 'vicuna-tokenizer',
    kind: 'musilingo',
  },
  {
    id: 'vicuna-tokenizer',
    title: 'Vicuna tokenizer',
    repo: 'lmsys/vicuna-7b-delta-v0',
    revision: 'main',
    goodFor: 'The SentencePiece tokenizer every MusiLingo model uses (fetched automatically with a model).',
    approxSizeBytes: 600_000,
    files: ['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json'],
    licenses: [APACHE_TOKENIZER],
    kind: 'tokenizer',
  },
];

/** Looks up a catalog entry; throws naming the allowed ids. */
export function catalogEntry(id: string, catalog: readonly CatalogEntry[] = CATALOG): CatalogEntry {
  const entry = catalog.find((e) => e.id === id || e.repo === id);
  if (!entry) throw new Error(`Unknown model "${id}". Expected one of: ${catalog.map((e) => e.id).join(', ')}`);
  return entry;
}

/** True when every licence of the entry allows commercial use. */
export function isCommercialUseAllowed(entry: CatalogEntry): boolean {
  return entry.licenses.every((l) => l.isCommercialUseAllowed);
}

/** A one-line licence summary for lists: "CC-BY-NC-4.0 + LLaMA-1 (non-commercial research): non-commercial". */
export function licenseSummary(entry: CatalogEntry): string {
  const ids = [...new Set(entry.licenses.map((l) => l.id))].join(' + ');
  return `${ids}${isCommercialUseAllowed(entry) ? '' : ': NON-COMMERCIAL use only'}`;
}

/** Human size: "14.8 GB". Decimal units, as disk vendors and the Hub use. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i] ?? 'B'}`;
}
