/**
 * @file `musilingo purge`: deletes tracks whose files have been missing for longer than the grace period.
 * Plain Node (CLI).
 */
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { parseCommandArgs } from '../library-output';
import { LibraryService } from '../../library/library-service';

const USAGE = `Usage: musilingo purge [--older-than <days>] [--all]

Deletes tracks whose files are missing, with their captions, questions and analysis. By default only those
missing for more than 30 days (the app does this itself at startup); a file that comes back before then keeps
everything.

Options:
  --older-than <days>  purge tracks missing for more than this many days (0 = all)
  --all                purge every missing track now`;

/** Purges missing tracks. */
export const command: CliCommand = {
  name: 'purge',
  summary: 'delete tracks whose files have been missing for a while',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { 'older-than': { type: 'string' }, all: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const older = values['older-than'];
    if (older !== undefined && values.all) throw new UsageError('--older-than and --all cannot be combined');
    if (older !== undefined && !/^\d+(\.\d+)?$/.test(older)) throw new UsageError(`--older-than must be a number of days, got "${older}"`);
    const lib = new LibraryService(ctx.db());
    const n = values.all
      ? lib.purgeMissing({ all: true })
      : lib.purgeMissing(older === undefined ? {} : { olderThanMs: Number(older) * 24 * 3600 * 1000 });
    ctx.stdout.write(`Purged ${n} missing track(s)\n`);
    return 0;
  },
};
