/**
 * @file `musilingo version`: prints versions of the app and its native parts.
 */
import { createRequire } from 'node:module';
import type { CliCommand } from '../command';

const require = createRequire(import.meta.url);

/** Prints the versions that matter when reporting a problem. */
export const command: CliCommand = {
  name: 'version',
  summary: 'print the app, Node, SQLite and ONNX Runtime versions',
  usage: 'Usage: musilingo version',
  async run(_argv, ctx) {
    const sqlite = require('better-sqlite3/package.json') as { version: string };
    const ort = require('onnxruntime-node/package.json') as { version: string };
    ctx.stdout.write(`musilingo 0.1.0\nnode ${process.versions.node}\nbetter-sqlite3 ${sqlite.version}\nonnxruntime-node ${ort.version}\n`);
    return 0;
  },
};
