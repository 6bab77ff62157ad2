/**
 * @file The CLI loads a command's module only when that command runs: `list`, `search` and `scan` never
 * import the model code (ONNX Runtime, tokenizers, the captioning pipeline) that `caption` needs. Every
 * module the bundled CLI resolves is recorded by a resolve hook (test/fixtures/cli/record-imports.mjs).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/library-audio';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'musilingo.mjs');
const HOOK = join(ROOT, 'test', 'fixtures', 'cli', 'record-imports.mjs');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Runs the CLI and returns its exit code and every module URL it resolved. */
function run(name: string, args: string[]): { code: number | null; modules: string[]; stderr: string } {
  const record = join(tmp.dir, `${name}.txt`);
  const r = spawnSync(process.execPath, ['--import', HOOK, BIN, '--db', join(tmp.dir, 'lib.sqlite'), ...args], {
    env: { ...process.env, RECORD_IMPORTS: record, MUSILINGO_HOME: join(tmp.dir, 'home') },
    encoding: 'utf8',
  });
  let modules: string[] = [];
  try {
    modules = readFileSync(record, 'utf8').split('\n').filter(Boolean);
  } catch {
    // nothing recorded
  }
  return { code: r.status, modules, stderr: r.stderr };
}

const MODEL_CODE = /onnxruntime-node|llama-tokenizer|sentencepiece|chunks\/(caption|generate|pack|session|encode)-/;

describe('lazy command loading', () => {
  it('runs library commands without importing model code', () => {
    for (const args of [['list'], ['search', 'piano'], ['scan', tmp.dir]]) {
      const r = run(args[0]!, args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.modules.some((m) => m.endsWith('/out/cli/musilingo.mjs'))).toBe(true);
      expect(r.modules.filter((m) => MODEL_CODE.test(m)), args.join(' ')).toEqual([]);
    }
  });

  it('imports the model code when a command needs it, and every command for the help text', () => {
    const caption = run('caption', ['caption', '--help']);
    expect(caption.code).toBe(0);
    expect(caption.modules.some((m) => MODEL_CODE.test(m))).toBe(true);
    const help = run('help', ['--help']);
    expect(help.code).toBe(0);
    expect(help.modules.some((m) => MODEL_CODE.test(m))).toBe(true);
  });
});
