#!/usr/bin/env node
// Entry point of the `musilingo` command. The CLI is bundled by `npm run build:cli` into out/cli.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../out/cli/musilingo.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('musilingo: the CLI is not built yet. Run `npm run build:cli` first.\n');
  process.exit(1);
}
await import(bundle);
