import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';
import pkg from './package.json' with { type: 'json' };

// The CLI (and its worker threads) are bundled like the Electron main process so that
// import.meta.glob (SQL migrations, CLI commands) works the same in both. Dependencies stay external:
// native addons cannot be bundled.
const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies),
].map((d) => new RegExp(`^${d.replace(/[/.]/g, '\\$&')}(/.*)?$`));

export default defineConfig({
  build: {
    ssr: true,
    target: 'node20',
    outDir: 'out/cli',
    emptyOutDir: true,
    sourcemap: true,
    minify: false,
    rollupOptions: {
      input: {
        musilingo: 'main/cli/index.ts',
        'inference.thread': 'model/inference-thread.ts',
        'train.thread': 'trainer/train-thread.ts',
        'convert.thread': 'main/models/convert-thread.ts',
        'scan.thread': 'main/library/scan-thread.ts',
      },
      external,
      output: { format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' },
    },
  },
  ssr: { noExternal: [] },
});
