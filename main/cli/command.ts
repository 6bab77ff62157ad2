/**
 * @file The shape of a CLI command. Each file in main/cli/commands/ exports one `command`; the dispatcher
 * discovers them, so adding a command touches no other file.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type Database from 'better-sqlite3';

/** What every command gets from the dispatcher. */
export interface CliContext {
  /** Opens (once) the database given by --db or the app's default. */
  readonly db: () => Database.Database;
  readonly dbPath: string;
  readonly dataDir: string;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborted on Ctrl-C; long work should stop cleanly and leave resumable state. */
  readonly signal: AbortSignal;
}

/** A top-level command such as `scan` or `models`. */
export interface CliCommand {
  readonly name: string;
  /** One line for `musilingo --help`. */
  readonly summary: string;
  /** Full usage text for `musilingo <name> --help`. */
  readonly usage: string;
  /** Returns the process exit code. Throw {@link UsageError} for wrong arguments. */
  run(argv: string[], ctx: CliContext): Promise<number>;
}

/** Wrong arguments: the dispatcher prints the message and the command's usage and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `parseArgs` with strict options, positionals allowed unless said otherwise, and errors as {@link UsageError}. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parses a positive integer option value, or throws a UsageError naming the option. */
export function parsePositiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`--${name} must be a positive whole number, got "${value}"`);
  return Number(value);
}
