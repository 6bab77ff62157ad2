import { defineConfig } from 'vitest/config';

/** Run a second time with no ffmpeg on PATH (see [Note: Decode tests run twice] in test/setup/ffmpeg-mode.ts). */
const NO_FFMPEG = ['test/integration/model/audio/decode.test.ts', 'test/integration/captions/cli-no-ffmpeg.test.ts'];

// [Note: forks pool] Native addons (better-sqlite3, onnxruntime-node) are why Vitest advises the forks pool
// over threads, and vm pools break `instanceof` across realms.
export default defineConfig({
  test: {
    pool: 'forks',
    globalSetup: ['test/setup/build-cli.ts'],
    setupFiles: ['test/setup/ffmpeg-mode.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'system-ffmpeg',
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.spec.ts'],
          exclude: ['test/integration/captions/cli-no-ffmpeg.test.ts', '**/node_modules/**'],
          env: { MUSILINGO_TEST_FFMPEG_MODE: 'system' },
        },
      },
      {
        extends: true,
        test: { name: 'no-ffmpeg', include: NO_FFMPEG, env: { MUSILINGO_TEST_FFMPEG_MODE: 'stripped' } },
      },
    ],
  },
});
