/**
 * @file The figures the MusiLingo paper reports for MusiLingo, printed beside ours by `musilingo eval` (data only).
 *
 * Source: Zihao Deng, Yinghao Ma, Yudong Liu, Rongchen Guo, Ge Zhang, Wenhu Chen, Wenhao Huang,
 * Emmanouil Benetos. "MusiLingo: Bridging Music and Text with Pre-trained Language Models for Music
 * Captioning and Query Response." Findings of the Association for Computational Linguistics: NAACL 2024,
 * pages 3643–3655 (arXiv:2309.08730). Table 1: MusicCaps captioning; the Q&A tables: MusicInstruct
 * (short and long questions) and MusicQA. Columns B-U (BLEU), M-R (METEOR), R-L (ROUGE-L), BERT-S
 * (BERTScore), as computed by the repository's qa.py.
 *
 * [Note: Unverified paper figures stay null]
 * The paper's tables were not available to us when this file was written, and a figure typed from
 * memory would be worse than none: a wrong "paper" column would make a faithful reproduction look
 * broken. Every figure is therefore null (printed as "n/a") until someone copies it from the paper,
 * keeping the paper's scale (`scale`: 100 when the paper prints percentages). See docs/evaluation.md.
 */
import type { DatasetName } from './datasets';

/** One row of the paper's results for MusiLingo. */
export interface PaperRow {
  readonly table: string;
  readonly task: string;
  /** Multiply our fractions by this to compare (100 for percentages). */
  readonly scale: number;
  readonly bleu: number | null;
  readonly meteor: number | null;
  readonly rougeL: number | null;
  readonly bertScore: number | null;
}

/** The paper's MusiLingo figures per dataset (null = not verified, see the note above). */
export const PAPER_RESULTS: Readonly<Record<DatasetName, PaperRow>> = {
  musiccaps: { table: 'Table 1', task: 'MusicCaps captioning', scale: 100, bleu: null, meteor: null, rougeL: null, bertScore: null },
  'mi-short': { table: 'Q&A table', task: 'MusicInstruct, short questions', scale: 100, bleu: null, meteor: null, rougeL: null, bertScore: null },
  'mi-long': { table: 'Q&A table', task: 'MusicInstruct, long questions', scale: 100, bleu: null, meteor: null, rougeL: null, bertScore: null },
  musicqa: { table: 'Q&A table', task: 'MusicQA', scale: 100, bleu: null, meteor: null, rougeL: null, bertScore: null },
};
