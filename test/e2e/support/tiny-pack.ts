/**
 * @file Makes a tiny, real model pack for E2E tests (plain Node): the fixture checkpoints converted by the app's
 * own converter (test/integration/captions/tiny-pack.ts), registered as ready in the models table.
 */
import { join } from 'node:path';
import { openDatabase } from '../../../main/db/open';
import { upsertModelPack } from '../../../main/db/models';
import { defaultDbPath, modelsDir } from '../../../main/paths';
import { buildTinyPack } from '../../integration/captions/tiny-pack';

/** Converts the tiny checkpoint into `<dataDir>/models/tiny@float32` and marks it ready. Returns the pack id. */
export async function installTinyPack(dataDir: string, workDir: string): Promise<string> {
  const outDir = join(modelsDir(dataDir), 'tiny@float32');
  await buildTinyPack(workDir, outDir);
  const db = openDatabase(defaultDbPath(dataDir));
  try {
    return upsertModelPack(db, { modelId: 'tiny', variant: 'float32', state: 'ready', path: outDir }).id;
  } finally {
    db.close();
  }
}
