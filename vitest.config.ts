import { defineConfig } from 'vitest/config';

// [Note: forks pool] Native addons (better-sqlite3, onnxruntime-node) are why Vitest advises the forks pool
// over threads, and vm pools break `instanceof` across realms.
export default defineConfig({
  test: {
    pool: 'forks',
    globalSetup: ['test/setup/build-cli.ts'],
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
