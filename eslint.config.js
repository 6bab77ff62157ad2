// @ts-check
// Layering rules (STYLE B1) are the point of this file: the compiler cannot see process boundaries.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'http', 'https', 'net', 'stream', 'url', 'util', 'zlib', 'events', 'buffer'];

export default tseslint.config(
  { ignores: ['.dev/**', '.gl/**', 'out/**', 'dist/**', 'release/**', 'node_modules/**', 'renderer/**/*.svelte', 'test-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
  {
    files: ['model/**', 'trainer/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['electron', 'electron/*'], message: 'model/ and trainer/ run outside Electron: take paths and handles as arguments.' },
          { group: ['**/main/**', '../main', '../../main'], message: 'model/ and trainer/ must not import main/ (STYLE B1).' },
        ],
      }],
    },
  },
  {
    files: ['renderer/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: NODE_BUILTINS.filter((n) => !n.includes('*')).map((name) => ({ name, message: 'The renderer is sandboxed: no Node built-ins.' })),
        patterns: [
          { group: ['node:*'], message: 'The renderer is sandboxed: no Node built-ins.' },
          { group: ['electron', 'electron/*'], message: 'The renderer talks to main only through window.api (renderer/lib/api.ts).' },
          { group: ['**/main/**', '**/model/**', '**/trainer/**'], message: 'The renderer must not import main/, model/ or trainer/ (STYLE B1).' },
          { group: ['**/preload/index*'], message: 'Import only types from preload/contract.' },
        ],
      }],
    },
  },
  {
    files: ['main/workers/*.worker.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        // A regex, not a gitignore group: a group cannot re-include ../../model/** once '../*' excluded its parent.
        patterns: [{ regex: '^\\.\\./(?!\\.\\./(model|trainer)/)', message: 'Worker entries may import model/ and trainer/ but not the rest of main/ (no app, BrowserWindow or ipcMain there).' }],
      }],
    },
  },
);
