import { builtinModules } from 'node:module';
import { defineConfig, type Plugin } from 'vite';
import pkg from './package.json' with { type: 'json' };

// The CLI (and its worker threads) are bundled like the Electron main process so that
// import.meta.glob (SQL migrations, CLI commands) works the same in both. Dependencies stay external:
// native addons cannot be bundled.
const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies).filter((d) => d !== 'music-metadata'),
].map((d) => new RegExp(`^${d.replace(/[/.]/g, '\\$&')}(/.*)?$`));

/**
 * [Note: One tag mapper per process]
 * music-metadata builds its tag-name maps (~1,000 upper-cased keys in 11 mappers) anew for every file it parses:
 * a sixth of a scan thread's time. The mappers are stateless, so the bundled copy (music-metadata is bundled
 * into the CLI, whose scan.thread.mjs the app runs too) shares one. The build fails if the line it rewrites is
 * gone (a music-metadata upgrade), rather than silently losing the saving.
 */
const sharedTagMapper: Plugin = {
  name: 'musilingo-shared-tag-mapper',
  transform(code, id) {
    if (!/music-metadata[\\/]lib[\\/]common[\\/]MetadataCollector\.js$/.test(id)) return null;
    const line = 'this.tagMapper = new CombinedTagMapper();';
    if (!code.includes(line)) this.error(`music-metadata's MetadataCollector.js no longer has "${line}": update [Note: One tag mapper per process]`);
    return code.replace(line, 'this.tagMapper = (sharedCombinedTagMapper ??= new CombinedTagMapper());') + '\nlet sharedCombinedTagMapper;\n';
  },
};

export default defineConfig({
  plugins: [sharedTagMapper],
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
  // music-metadata is bundled (its own dependencies stay external): see [Note: One tag mapper per process].
  ssr: { noExternal: ['music-metadata'] },
});
