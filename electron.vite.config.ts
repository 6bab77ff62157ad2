// electron-vite: three bundles (main, preload, renderer). Utility-process entries (main/workers/*.worker.ts)
// become extra main-side chunks through `?modulePath` imports, so they need no entry of their own here.
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // Dependencies stay in node_modules (native addons cannot be bundled; electron-builder packs them).
      externalizeDeps: true,
      sourcemap: true,
      rollupOptions: {
        input: { index: resolve(import.meta.dirname, 'main/index.ts') },
        output: { format: 'es', entryFileNames: '[name].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // [Note: Sandboxed preload is one CommonJS file]
      // A sandboxed preload cannot `require` other files or load ES modules: bundle contract.ts into it and
      // emit CommonJS, whatever package.json's "type" says.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(import.meta.dirname, 'preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs', inlineDynamicImports: true },
      },
    },
  },
  renderer: {
    root: resolve(import.meta.dirname, 'renderer'),
    plugins: [svelte()],
    build: {
      outDir: resolve(import.meta.dirname, 'out/renderer'),
      emptyOutDir: true,
      rollupOptions: { input: { index: resolve(import.meta.dirname, 'renderer/index.html') } },
    },
  },
});
