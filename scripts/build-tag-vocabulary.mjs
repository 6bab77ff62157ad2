#!/usr/bin/env node
/**
 * @file Builds main/tags/vocabulary.json from the curated table (main/tags/vocabulary-curated.json) and the
 * MusicCaps aspect lists (column aspect_list of musiccaps-public.csv). Plain Node, run by hand:
 *   node scripts/build-tag-vocabulary.mjs [path/to/musiccaps-public.csv]
 *
 * For each curated term it counts the aspect-list entries that contain the term or a synonym as a whole
 * phrase; terms that no aspect list uses are dropped (the vocabulary speaks MusicCaps' language, the language
 * the model was tuned on). It also prints the most frequent aspect entries that map to no term, for curation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const csvPath = process.argv[2] ?? join(root, 'test/fixtures/musiccaps-public.csv');
const curated = JSON.parse(readFileSync(join(root, 'main/tags/vocabulary-curated.json'), 'utf8'));

/** Minimal RFC 4180 CSV parser (quoted fields with doubled quotes and newlines). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** aspect_list is a Python list literal: ['a', "b's"]. */
function parseAspects(s) {
  const out = [];
  for (const m of s.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)) out.push((m[1] ?? m[2]).replace(/\\(.)/g, '$1').trim().toLowerCase());
  return out.filter(Boolean);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const phrase = (s) => new RegExp(`(^|[^a-z0-9&-])${escape(s)}($|[^a-z0-9&-])`);

const [header, ...rows] = parseCsv(readFileSync(csvPath, 'utf8'));
const col = header.indexOf('aspect_list');
if (col < 0) throw new Error(`${csvPath}: no aspect_list column`);
const counts = new Map();
for (const r of rows) for (const a of parseAspects(r[col] ?? '')) counts.set(a, (counts.get(a) ?? 0) + 1);

const vocabulary = { source: 'MusicCaps aspect_list + main/tags/vocabulary-curated.json', fields: {} };
const mapped = new Set();
for (const [field, terms] of Object.entries(curated)) {
  if (field.startsWith('$')) continue;
  const out = [];
  for (const [term, synonyms] of Object.entries(terms)) {
    const all = [term, ...synonyms];
    const res = all.map(phrase);
    let n = 0;
    const examples = [];
    for (const [aspect, c] of counts) {
      if (!res.some((re) => re.test(aspect))) continue;
      n += c;
      mapped.add(aspect);
      examples.push([aspect, c]);
    }
    if (n === 0) continue;
    examples.sort((a, b) => b[1] - a[1]);
    out.push({ term, synonyms, aspectCount: n, examples: examples.slice(0, 5).map(([a]) => a) });
  }
  vocabulary.fields[field] = out;
}
writeFileSync(join(root, 'main/tags/vocabulary.json'), `${JSON.stringify(vocabulary, null, 1)}\n`);
const unmapped = [...counts].filter(([a]) => !mapped.has(a)).sort((a, b) => b[1] - a[1]).slice(0, 40);
console.log(`wrote main/tags/vocabulary.json: ${Object.entries(vocabulary.fields).map(([f, t]) => `${f} ${t.length}`).join(', ')}`);
console.log(`most frequent unmapped aspects: ${unmapped.map(([a, c]) => `${a} (${c})`).join(', ')}`);
