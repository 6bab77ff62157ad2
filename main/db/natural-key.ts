/**
 * @file The natural sort key of a path: "take-9" before "take-10", folders before their neighbours' names,
 * case and Unicode normalisation ignored. Stored in `tracks.name_key` so sorting uses an index. Main process,
 * CLI, tests and migration 0054 (which fills existing rows through a SQL function of the same name).
 */

/** Width every run of digits is padded to; longer runs (never seen in file names) keep their length. */
const DIGITS = 20;

/** Natural sort key: lower case NFC, digit runs zero-padded, path separators sorting before any character. */
export function naturalSortKey(path: string): string {
  return path
    .normalize('NFC')
    .toLowerCase()
    .replace(/[\\/]/g, '\u0001')
    .replace(/\d+/g, (run) => {
      const digits = run.replace(/^0+(?=\d)/, '');
      return digits.length >= DIGITS ? digits : digits.padStart(DIGITS, '0');
    });
}

/** The SQL function name migrations may call (registered by migrate()). */
export const NATURAL_SORT_KEY_SQL = 'natural_sort_key';
