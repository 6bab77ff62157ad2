#!/usr/bin/env node
// Runs a benchmark: `npm run bench -- <name> [args…]` bundles bench/<name>.ts with Vite (SSR mode, so
// import.meta.glob works as in the app; dependencies and Node built-ins stay external) into out/bench and runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  process.stderr.write(`Usage: npm run bench -- <name> [args…]\nBenchmarks: ${available.sort().join(', ') || '(none)'}\n`);
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// node-llama-cpp (a devDependency, bench/cpu-decode.ts) loads native binaries from its own folder: never bundled.
const external = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), ...Object.keys(pkg.dependencies ?? {}), 'node-llama-cpp']
  .map((d) => new RegExp(`^${d.replace(/[/.]/g, '\\$&')}(/.*)?$`));
const outDir = join(root, 'out', 'bench', name);
await build({
  root,
  configFile: false,
  logLevel: 'warn',
  build: {
    ssr: true,
    target: 'node20',
    outDir,
    emptyOutDir: true,
    sourcemap: true,
    minify: false,
    rollupOptions: {
      input: { [name]: join(root, 'bench', `${name}.ts`) },
      external,
      output: { format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' },
    },
  },
  ssr: { noExternal: [] },
});
const entry = join(outDir, `${name}.mjs`);
if (!existsSync(entry)) throw new Error(`Bundling bench/${name}.ts produced no ${entry}`);
const r = spawnSync(process.execPath, ['--enable-source-maps', entry, ...args], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
