/**
 * @file `musilingo folders add|remove|list`: manages the library's folders without scanning. Plain Node (CLI).
 */
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { parseCommandArgs } from '../library-output';
import { FolderError } from '../../library/errors';
import { checkFolderPath } from '../../library/folder-path';
import { LibraryService } from '../../library/library-service';

const USAGE = `Usage: musilingo folders list [--json]
       musilingo folders add <dir…>
       musilingo folders remove <dir | id> [--purge]

add      adds folders (scan them with \`musilingo scan\` or \`musilingo watch\`)
remove   removes a folder; its tracks are kept as missing for 30 days (re-adding restores them with their
         captions) unless --purge deletes them and everything attached now
list     folders with their track, missing and unreadable-file counts`;

/** Manages library folders. */
export const command: CliCommand = {
  name: 'folders',
  summary: 'add, remove or list the library folders',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, purge: { type: 'boolean' } });
    const [sub, ...args] = positionals;
    const lib = new LibraryService(ctx.db());
    try {
      switch (sub) {
        case 'list': {
          if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
          const folders = lib.listFolders();
          if (values.json) {
            ctx.stdout.write(`${JSON.stringify(folders, null, 2)}\n`);
          } else {
            for (const f of folders) {
              const scanned = f.lastScanAt === null ? 'never scanned' : `scanned ${new Date(f.lastScanAt).toISOString()}`;
              ctx.stdout.write(`${String(f.id).padStart(4)}  ${f.path}  ${f.trackCount} tracks, ${f.missingCount} missing, ${f.errorCount} unreadable, ${scanned}\n`);
            }
            if (!folders.length) ctx.stderr.write('No folders yet: musilingo folders add <dir>\n');
          }
          return 0;
        }
        case 'add': {
          if (!args.length) throw new UsageError('name at least one folder to add');
          for (const dir of args) {
            const f = lib.addFolder(checkFolderPath(dir, { origin: 'cli', dataDir: ctx.dataDir }));
            ctx.stdout.write(`Added ${f.path} (id ${f.id})\n`);
          }
          return 0;
        }
        case 'remove': {
          if (args.length !== 1) throw new UsageError('name one folder to remove, by path or id');
          const arg = args[0]!;
          const r = await lib.removeFolder(/^\d+$/.test(arg) ? Number(arg) : arg, { purge: values.purge ?? false });
          ctx.stdout.write(
            values.purge
              ? `Removed ${r.folder.path}; deleted ${r.purged} track(s)\n`
              : `Removed ${r.folder.path}; ${r.missing} track(s) kept as missing (musilingo purge --all deletes them)\n`,
          );
          return 0;
        }
        case undefined:
          throw new UsageError('missing subcommand: add, remove or list');
        default:
          throw new UsageError(`unknown subcommand "${sub}". Expected one of: add, remove, list`);
      }
    } catch (e) {
      if (e instanceof FolderError) throw new UsageError(e.message);
      throw e;
    }
  },
};
