import { builtinModules } from 'node:module';
import { defineConfig, type Plugin } from 'vite';
import { MUSIC_METADATA_PATCHES, patchesModule } from './main/library/music-metadata-patches';
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
 * music-metadata's source patches (main/library/music-metadata-patches.ts: [Note: One tag mapper per process],
 * [Note: ID3v2 padding]); a patch whose text is gone after an upgrade fails the build.
 */
const musicMetadataPatches: Plugin = {
  name: 'musilingo-music-metadata-patches',
  transform(code, id) {
    const patches = MUSIC_METADATA_PATCHES.filter((p) => patchesModule(p, id));
    if (!patches.length) return null;
    try {
      return patches.reduce((c, p) => p.apply(c), code);
    } catch (e) {
      return this.error(e instanceof Error ? e.message : String(e));
    }
  },
};

export default defineConfig({
  plugins: [musicMetadataPatches],
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
  // music-metadata is bundled (its own dependencies stay external), patched: see main/library/music-metadata-patches.ts.
  ssr: { noExternal: ['music-metadata'] },
});
