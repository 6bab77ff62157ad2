/**
 * @file Ids from the renderer are checked where they enter: an unknown model id fails the models:download call
 * itself (not only a line in the log), and training run ids are plain decimal numbers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { openDatabase } from '../../../main/db/open';
import { createEventHub } from '../../../main/app/events';
import { createModelsFacade } from '../../../main/app/models-adapter';
import { createSettingsStore } from '../../../main/app/settings';
import { createTrainingFacade } from '../../../main/app/training-adapter';
import { toFailure } from '../../../main/ipc/errors';

let db: Database.Database | undefined;
const logged: string[] = [];
afterEach(() => {
  db?.close();
  logged.length = 0;
});

function facades() {
  db = openDatabase(':memory:');
  const events = createEventHub();
  const log = (_level: 'info' | 'error', message: string): void => void logged.push(message);
  const models = createModelsFacade({ db, dataDir: '/nonexistent-data', events, settings: createSettingsStore(db), log, runCli: null, hub: { endpoint: 'http://127.0.0.1:9' } });
  const training = createTrainingFacade({ db, dbPath: ':memory:', dataDir: '/nonexistent-data', events, log, execute: null });
  return { models, training };
}

async function failureOf(p: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await p();
  } catch (e) {
    const f = toFailure(e);
    if (!f.ok) return f.error;
  }
  throw new Error('expected a failure');
}

describe('models:download', () => {
  it('answers not-found for an unknown model id, naming the ids there are', async () => {
    const { models } = facades();
    const err = await failureOf(() => models.download('no-such-model'));
    expect(err.code).toBe('not-found');
    expect(err.message).toMatch(/Unknown model "no-such-model". Expected one of: musilingo-long/);
    expect(logged).toEqual([]);
  });

  it('refuses the tokenizer entry as a model', async () => {
    const { models } = facades();
    expect((await failureOf(() => models.download('vicuna-tokenizer'))).code).toBe('invalid-argument');
  });
});

describe('training run ids', () => {
  it.each(['0x10', '1e3', ' 7', '7 ', '+7', '07', '1.0', '-1', '0', '', '99999999999999999999'])('refuses %j', async (id) => {
    const { training } = facades();
    const cancel = await failureOf(() => training.cancel(id));
    expect(cancel.code).toBe('invalid-argument');
    expect(cancel.message).toContain('is not a training run id');
    expect((await failureOf(() => training.loss(id))).code).toBe('invalid-argument');
  });

  it('accepts decimal ids', () => {
    const { training } = facades();
    expect(training.loss('16')).toEqual([]);
  });
});
