/**
 * @file `musilingo` command-line entry (plain Node). Global options: --db <path>, --help, --version.
 */
import { parseArgs } from 'node:util';
import type Database from 'better-sqlite3';
import { openDatabase } from '../db/open';
import { appDataDir, defaultDbPath } from '../paths';
import { UsageError, type CliCommand, type CliContext } from './command';
import { dbPathProblem, exitQuietlyOnBrokenPipe } from './process-io';

// Commands load on demand: a command's module pulls in what it needs (the captioning pipeline, tokenizers,
// ONNX Runtime), and `musilingo scan` should not pay for `musilingo caption`. A command's file is named after
// it (commands/<name>.ts), so the names are known without loading any of them.
const loaders = import.meta.glob<{ command: CliCommand }>('./commands/*.ts');
const LOADERS = new Map(Object.entries(loaders).map(([path, load]) => [path.replace(/^.*\/|\.ts$/g, ''), load]));

/** The command named `name`, loading only its module; undefined when there is none. */
async function loadCommand(name: string): Promise<CliCommand | undefined> {
  const load = LOADERS.get(name);
  return load ? (await load()).command : undefined;
}

/** Every command's module, for the help text (which lists each command's summary). */
async function help(): Promise<string> {
  const all = await Promise.all([...LOADERS.keys()].map((n) => loadCommand(n)));
  const rows = all
    .filter((c): c is CliCommand => c !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return [
    'Usage: musilingo [--db <path>] <command> [options]',
    '',
    'Commands:',
    ...rows,
    '',
    'Global options:',
    '  --db <path>   library database (default: the app\'s own, in its data folder)',
    '  --help        this text; `musilingo <command> --help` for a command',
    '',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // Global options come before the command name; everything after it belongs to the command.
  const cmdIndex = argv.findIndex((a, i) => !a.startsWith('-') && argv[i - 1] !== '--db');
  const globalArgs = cmdIndex < 0 ? argv : argv.slice(0, cmdIndex);
  const rest = cmdIndex < 0 ? [] : argv.slice(cmdIndex + 1);
  let values: { db?: string | undefined; help?: boolean | undefined; version?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: globalArgs,
      options: { db: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`musilingo: ${(e as Error).message}\n\n${await help()}`);
    return 2;
  }
  if (values.version) {
    process.stdout.write('musilingo 0.1.0\n');
    return 0;
  }
  const name = cmdIndex < 0 ? undefined : argv[cmdIndex];
  if (!name) {
    (values.help ? process.stdout : process.stderr).write(await help());
    return values.help ? 0 : 2;
  }
  const command = await loadCommand(name);
  if (!command) {
    process.stderr.write(`musilingo: unknown command "${name}". Expected one of: ${[...LOADERS.keys()].sort().join(', ')}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  const dataDir = appDataDir();
  const dbPath = values.db ?? defaultDbPath(dataDir);
  const dbProblem = values.db === undefined ? undefined : dbPathProblem(values.db, dataDir);
  if (dbProblem) {
    process.stderr.write(`musilingo: ${dbProblem}\n`);
    return 2;
  }
  let db: Database.Database | undefined;
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nStopping… (press Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const ctx: CliContext = {
    db: () => (db ??= openDatabase(dbPath)),
    dbPath,
    dataDir,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
  };
  try {
    return await command.run(rest, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`musilingo ${name}: ${e.message}\n\n${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`musilingo ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    db?.close();
  }
}

exitQuietlyOnBrokenPipe([process.stdout, process.stderr]);
process.exitCode = await main(process.argv.slice(2));
