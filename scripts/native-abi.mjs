#!/usr/bin/env node
// Makes better-sqlite3's native binary match the runtime about to load it: `node` (tests, CLI) or `electron`
// (`npm start`).
//
// [Note: One better-sqlite3 binary, two runtimes]
// better-sqlite3 is a V8 (NAN) addon: its binary is built for exactly one ABI. `npm ci` builds it for the Node
// that ran npm; Electron 45 has another ABI, so `npm start` needs a rebuild for Electron, and the tests need
// the Node build back afterwards. onnxruntime-node is N-API and loads in both unchanged. A marker file records
// which build is in place so the common case (nothing to do) costs one require.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.better-sqlite3-abi');
const target = process.argv[2];
if (target !== 'node' && target !== 'electron') {
  process.stderr.write('Usage: node scripts/native-abi.mjs node|electron\n');
  process.exit(2);
}

function run(cmd, args) {
  process.stdout.write(`native-abi: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    process.stderr.write(`native-abi: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}).\n`);
    process.exit(r.status ?? 1);
  }
}

function loadsInNode() {
  const r = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: root, encoding: 'utf8' });
  return r.status === 0;
}

const current = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : 'node';
if (target === 'node') {
  if (current === 'node' && loadsInNode()) process.exit(0);
  process.stdout.write('native-abi: better-sqlite3 was built for another runtime; rebuilding it for Node.\n');
  run('npm', ['rebuild', 'better-sqlite3']);
  rmSync(marker, { force: true });
} else {
  const electronVersion = createRequire(join(root, 'package.json'))('electron/package.json').version;
  const want = `electron-${electronVersion}`;
  if (current === want) process.exit(0);
  process.stdout.write(`native-abi: rebuilding better-sqlite3 for Electron ${electronVersion}.\n`);
  run('npx', ['electron-builder', 'install-app-deps']);
  writeFileSync(marker, `${want}\n`);
}
