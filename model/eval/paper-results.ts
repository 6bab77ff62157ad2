/**
 * @file The MusiLingo paper's result tables (Tables 1–3), printed beside ours by `musilingo eval` and shown on the
 * Evaluation page (data only).
 *
 * Source: Zihao Deng, Yinghao Ma, Yudong Liu, Rongchen Guo, Ge Zhang, Wenhu Chen, Wenhao Huang,
 * Emmanouil Benetos. "MusiLingo: Bridging Music and Text with Pre-trained Language Models for Music
 * Captioning and Query Response." Findings of the Association for Computational Linguistics: NAACL 2024,
 * pages 3643–3655 (arXiv:2309.08730). Columns B-U (BLEU, the mean of BLEU-1..4), M-R (METEOR), R-L (ROUGE-L),
 * BERT-S (BERTScore), all ×100, as computed by the repository's qa.py.
 *
 * [Note: Paper figures are copied, never typed from memory]
 * Every value below is copied from the tables as the paper prints them (a copy is kept in the project's
 * reference folder and in test/fixtures/paper-tables.md). test/unit/eval/paper-results.test.ts parses that
 * markdown and checks every table, section and row here against it, so a mistyped figure fails the tests.
 * `flagged` marks the values the paper stars for MU-LLaMA (a label leak between its training data and the
 * MusicInstruct test split).
 */
import type { DatasetName } from './datasets';

/** One row of one of the paper's tables: a model and its four figures (×100). */
export interface PaperTableRow {
  readonly model: string;
  readonly bleu: number;
  readonly meteor: number;
  readonly rougeL: number;
  readonly bertScore: number;
  /** The paper stars these figures (MU-LLaMA's label leak on MusicInstruct). */
  readonly flagged: boolean;
}

/** A block of rows evaluated on one dataset (the bold sub-headings of Tables 1 and 3). */
export interface PaperTableSection {
  /** The paper's sub-heading, or null when the table has none (Table 2). */
  readonly heading: string | null;
  readonly dataset: DatasetName;
  readonly rows: readonly PaperTableRow[];
}

/** One of the paper's result tables. */
export interface PaperTable {
  readonly id: 'Table 1' | 'Table 2' | 'Table 3';
  readonly title: string;
  readonly sections: readonly PaperTableSection[];
}

const FLAGGED = true;

function row(model: string, bleu: number, meteor: number, rougeL: number, bertScore: number, flagged = false): PaperTableRow {
  return { model, bleu, meteor, rougeL, bertScore, flagged };
}

/** Tables 1–3 of the paper, row for row. */
export const PAPER_TABLES: readonly PaperTable[] = [
  {
    id: 'Table 1',
    title: 'music question answering (MI short, MI long, MusicQA)',
    sections: [
      {
        heading: 'Music Instruct (Short)',
        dataset: 'mi-short',
        rows: [
          row('LTU (Gong et al., 2023b)', 29.7, 36.6, 42.8, 90.3),
          row('LTU-AS (Gong et al., 2023a)', 30.4, 36.3, 42.0, 90.9),
          row('MU-LLaMA (Liu et al., 2023b)', 45.5, 50.1, 51.3, 93.2, FLAGGED),
          row('MusiLingo / MI(short)', 47.0, 51.4, 51.4, 92.9),
          row('MusiLingo / MusicQA + MI(short)', 47.1, 51.7, 51.6, 92.9),
        ],
      },
      {
        heading: 'Music Instruct (Long)',
        dataset: 'mi-long',
        rows: [
          row('LTU (Gong et al., 2023b)', 6.7, 9.3, 9.0, 83.1),
          row('LTU-AS (Gong et al., 2023a)', 6.0, 8.8, 8.2, 83.3),
          row('MU-LLaMA (Liu et al., 2023b)', 14.3, 25.6, 41.1, 88.6, FLAGGED),
          row('MusiLingo / MI(long)', 45.0, 25.0, 22.9, 86.1),
        ],
      },
      {
        heading: 'MusicQA',
        dataset: 'musicqa',
        rows: [
          row('LTU (Gong et al., 2023b)', 24.2, 27.4, 32.6, 88.7),
          row('Llama-adapter (Zhang et al., 2023b)', 27.3, 33.4, 41.3, 89.5),
          row('MU-LLaMA (Liu et al., 2023b)', 30.6, 38.5, 46.6, 90.1),
          row('MusiLingo / MusicQA', 32.4, 37.2, 45.3, 90.6),
          row('MusiLingo / MI short + MusicQA', 33.2, 38.4, 46.5, 91.0),
        ],
      },
    ],
  },
  {
    id: 'Table 2',
    title: 'music captioning on MusicCaps',
    sections: [
      {
        heading: null,
        dataset: 'musiccaps',
        rows: [
          row('MusCaps (Manco et al., 2021)', 10.2, 17.0, 22.2, 83.5),
          row('LTU (Gong et al., 2023b)', 4.6, 7.6, 8.5, 83.6),
          row('LTU-AS (Gong et al., 2023a)', 4.0, 6.0, 6.3, 82.9),
          row('LP-MusicCaps (Doh et al., 2023a)', 14.7, 22.4, 21.5, 87.8),
          row('MusiLingo Pre-trained', 4.7, 6.5, 6.7, 80.7),
          row('MusiLingo / MusicCaps', 30.8, 21.6, 21.7, 86.8),
        ],
      },
    ],
  },
  {
    id: 'Table 3',
    title: 'ablation over fine-tuning data',
    sections: [
      {
        heading: 'MusicCaps',
        dataset: 'musiccaps',
        rows: [
          row('MusiLingo / MusicCaps', 30.8, 21.6, 21.7, 86.8),
          row('MusiLingo / MI short', 2.1, 8.4, 9.0, 84.4),
          row('MusiLingo / MI long', 22.4, 22.2, 29.3, 86.1),
          row('MusiLingo / MI mix', 20.4, 20.2, 27.2, 85.8),
        ],
      },
      {
        heading: 'Music Instruct (Short)',
        dataset: 'mi-short',
        rows: [
          row('MusiLingo / MI(short)', 47.0, 51.4, 51.4, 92.9),
          row('MusiLingo / MI(long)', 7.2, 21.1, 56.5, 89.3),
          row('MusiLingo / MI(mixed)', 46.1, 50.9, 51.1, 92.8),
        ],
      },
      {
        heading: 'Music Instruct (Long)',
        dataset: 'mi-long',
        rows: [
          row('MusiLingo / MI(short)', 12.3, 13.6, 15.0, 83.2),
          row('MusiLingo / MI(long)', 45.0, 25.0, 22.9, 86.1),
          row('MusiLingo / MI(mixed)', 40.3, 24.3, 23.6, 85.6),
        ],
      },
      {
        heading: 'MusicQA',
        dataset: 'musicqa',
        rows: [
          row('MusiLingo / MusicQA', 32.4, 37.2, 45.3, 90.6),
          row('MusiLingo / MI short', 27.6, 34.0, 38.2, 89.5),
          row('MusiLingo / MI long', 12.4, 24.6, 51.8, 88.5),
          row('MusiLingo / MI mix', 26.8, 33.6, 43.0, 89.4),
        ],
      },
    ],
  },];

/** One row of the paper's results for MusiLingo (the model this app runs) on one dataset. */
export interface PaperRow {
  readonly table: string;
  readonly task: string;
  /** The paper's name of the row ("MusiLingo / MusicCaps"). */
  readonly model: string;
  /** Multiply our fractions by this to compare (100: the paper prints percentages). */
  readonly scale: number;
  readonly bleu: number | null;
  readonly meteor: number | null;
  readonly rougeL: number | null;
  readonly bertScore: number | null;
}

/** Finds a row of a table section; throws when the tables above lack it (a typo here, caught by the tests). */
function pick(table: PaperTable['id'], dataset: DatasetName, model: string, task: string): PaperRow {
  const t = PAPER_TABLES.find((x) => x.id === table);
  const r = t?.sections.find((s) => s.dataset === dataset)?.rows.find((x) => x.model === model);
  if (!r) throw new Error(`paper-results: ${table} has no row "${model}" for ${dataset}`);
  return { table, task, model, scale: 100, bleu: r.bleu, meteor: r.meteor, rougeL: r.rougeL, bertScore: r.bertScore };
}

/**
 * The paper's MusiLingo row per dataset: the model fine-tuned on that dataset alone, which is what the released
 * checkpoints are (Table 2 for MusicCaps, Table 1 for the question-answering sets).
 */
export const PAPER_RESULTS: Readonly<Record<DatasetName, PaperRow>> = {
  musiccaps: pick('Table 2', 'musiccaps', 'MusiLingo / MusicCaps', 'MusicCaps captioning'),
  'mi-short': pick('Table 1', 'mi-short', 'MusiLingo / MI(short)', 'MusicInstruct, short questions'),
  'mi-long': pick('Table 1', 'mi-long', 'MusiLingo / MI(long)', 'MusicInstruct, long questions'),
  musicqa: pick('Table 1', 'musicqa', 'MusiLingo / MusicQA', 'MusicQA'),
};

/** The rows of the paper's main table for `dataset` (Table 2 for MusicCaps, Table 1 otherwise), in print order. */
export function paperRowsFor(dataset: DatasetName): { table: PaperTable['id']; rows: readonly PaperTableRow[] } {
  const table = dataset === 'musiccaps' ? 'Table 2' : 'Table 1';
  const rows = PAPER_TABLES.find((t) => t.id === table)?.sections.find((s) => s.dataset === dataset)?.rows ?? [];
  return { table, rows };
}
