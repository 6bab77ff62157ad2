/**
 * @file model/eval/paper-results.ts holds the paper's Tables 1–3 exactly: the test parses the markdown copy of the
 * tables (test/fixtures/paper-tables.md) on its own and compares every table, section, row, value and star.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAPER_RESULTS, PAPER_TABLES, paperRowsFor } from '../../../model/eval/paper-results';

interface MdRow {
  model: string;
  values: string[];
}
interface MdTable {
  id: string;
  title: string;
  sections: { heading: string | null; rows: MdRow[] }[];
}

/** The tables of the markdown file: `## Table N: title`, bold rows as section headings, `|`-separated cells. */
function parseTables(md: string): MdTable[] {
  const tables: MdTable[] = [];
  for (const line of md.split('\n')) {
    const h = /^## (Table \d): (.+)$/.exec(line);
    if (h) {
      tables.push({ id: h[1]!, title: h[2]!, sections: [] });
      continue;
    }
    const t = tables.at(-1);
    if (!t || !line.startsWith('|') || /^\|\s*-/.test(line) || /^\|\s*model\s*\|/.test(line)) continue;
    const cells = line.slice(1, line.lastIndexOf('|')).split('|').map((c) => c.trim());
    const bold = /^\*\*(.+)\*\*$/.exec(cells[0] ?? '');
    if (bold) {
      expect(cells.slice(1).every((c) => c === '')).toBe(true);
      t.sections.push({ heading: bold[1]!, rows: [] });
      continue;
    }
    if (t.sections.length === 0) t.sections.push({ heading: null, rows: [] });
    t.sections.at(-1)!.rows.push({ model: cells[0]!, values: cells.slice(1) });
  }
  return tables;
}

const MD = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'paper-tables.md'), 'utf8');
const PARSED = parseTables(MD);

/** A code row printed as the markdown prints it: one decimal, a star on flagged values. */
function asPrinted(r: { bleu: number; meteor: number; rougeL: number; bertScore: number; flagged: boolean }): string[] {
  return [r.bleu, r.meteor, r.rougeL, r.bertScore].map((v) => `${v.toFixed(1)}${r.flagged ? '*' : ''}`);
}

describe('the paper tables', () => {
  it('the markdown holds the three tables with every row', () => {
    expect(PARSED.map((t) => t.id)).toEqual(['Table 1', 'Table 2', 'Table 3']);
    expect(PARSED.map((t) => t.sections.reduce((n, s) => n + s.rows.length, 0))).toEqual([14, 6, 14]);
  });

  it('the code has the same tables, titles and section headings', () => {
    expect(PAPER_TABLES.map((t) => [t.id, t.title])).toEqual(PARSED.map((t) => [t.id, t.title]));
    expect(PAPER_TABLES.map((t) => t.sections.map((s) => s.heading))).toEqual(PARSED.map((t) => t.sections.map((s) => s.heading)));
  });

  for (const table of PARSED) {
    table.sections.forEach((section, si) => {
      section.rows.forEach((mdRow, ri) => {
        it(`${table.id} ${section.heading ?? ''} row ${ri + 1} (${mdRow.model}) matches the paper`, () => {
          const code = PAPER_TABLES.find((t) => t.id === table.id)?.sections[si]?.rows[ri];
          expect(code?.model).toBe(mdRow.model);
          expect(code && asPrinted(code)).toEqual(mdRow.values);
        });
      });
    });
  }

  it('each section names the dataset of its heading', () => {
    const expected: Record<string, string> = { 'Music Instruct (Short)': 'mi-short', 'Music Instruct (Long)': 'mi-long', MusicQA: 'musicqa', MusicCaps: 'musiccaps' };
    for (const t of PAPER_TABLES) for (const s of t.sections) expect(s.dataset).toBe(s.heading === null ? 'musiccaps' : expected[s.heading]);
  });

  it("MusiLingo's own row per dataset is the paper's single-dataset fine-tune", () => {
    expect(PAPER_RESULTS.musiccaps).toMatchObject({ table: 'Table 2', model: 'MusiLingo / MusicCaps', bleu: 30.8, meteor: 21.6, rougeL: 21.7, bertScore: 86.8 });
    expect(PAPER_RESULTS['mi-short']).toMatchObject({ table: 'Table 1', model: 'MusiLingo / MI(short)', bleu: 47.0, meteor: 51.4, rougeL: 51.4, bertScore: 92.9 });
    expect(PAPER_RESULTS['mi-long']).toMatchObject({ table: 'Table 1', model: 'MusiLingo / MI(long)', bleu: 45.0, meteor: 25.0, rougeL: 22.9, bertScore: 86.1 });
    expect(PAPER_RESULTS.musicqa).toMatchObject({ table: 'Table 1', model: 'MusiLingo / MusicQA', bleu: 32.4, meteor: 37.2, rougeL: 45.3, bertScore: 90.6 });
    expect(paperRowsFor('musiccaps').rows).toHaveLength(6);
    expect(paperRowsFor('mi-long').rows.map((r) => r.model)).toContain('MusiLingo / MI(long)');
  });
});
