/**
 * @file The one decision on library folder paths (main/library/folder-path.ts): `~` expanded, the disk root,
 * relative paths from the app and the data folder refused, on POSIX and Windows rules; and the app's consent
 * gate (main/app/folder-consent.ts) with an injected dialog: a typed path needs the user's yes.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFolderConsent } from '../../../main/app/folder-consent';
import { checkFolderPath, expandHome } from '../../../main/library/folder-path';

const POSIX = { dataDir: '/home/ann/.config/MusiLingo Desktop', home: '/home/ann', cwd: '/home/ann/work', pathApi: path.posix };
const WIN = { dataDir: 'C:\\Users\\ann\\AppData\\Roaming\\MusiLingo Desktop', home: 'C:\\Users\\ann', cwd: 'C:\\Users\\ann\\work', pathApi: path.win32 };

describe('checkFolderPath', () => {
  it('expands ~ to the home folder, for the CLI and the app', () => {
    expect(checkFolderPath('~/Music', { ...POSIX, origin: 'cli' })).toBe('/home/ann/Music');
    expect(checkFolderPath('~/Music', { ...POSIX, origin: 'renderer' })).toBe('/home/ann/Music');
    expect(checkFolderPath('~', { ...POSIX, origin: 'cli' })).toBe('/home/ann');
    expect(checkFolderPath('~\\Music', { ...WIN, origin: 'renderer' })).toBe('C:\\Users\\ann\\Music');
    expect(expandHome('~bob/Music', '/home/ann', path.posix)).toBe('~bob/Music');
  });

  it('resolves relative CLI paths from the working directory, and refuses them from the app', () => {
    expect(checkFolderPath('Music/../Albums', { ...POSIX, origin: 'cli' })).toBe('/home/ann/work/Albums');
    expect(() => checkFolderPath('Music', { ...POSIX, origin: 'renderer' })).toThrow(/"Music" is not a full path/);
    expect(() => checkFolderPath('.', { ...WIN, origin: 'renderer' })).toThrow(/not a full path/);
  });

  it('refuses the top of the disk in every spelling', () => {
    for (const root of ['/', '//', '/..', '/tmp/..']) {
      expect(() => checkFolderPath(root, { ...POSIX, origin: 'renderer' }), root).toThrow(/top of the disk/);
    }
    expect(() => checkFolderPath('..', { ...POSIX, cwd: '/home', origin: 'cli' })).toThrow(/top of the disk/);
    for (const root of ['C:\\', 'C:/', 'D:\\..']) {
      expect(() => checkFolderPath(root, { ...WIN, origin: 'renderer' }), root).toThrow(/top of the disk/);
    }
  });

  it('refuses the data folder and anything inside it, not its neighbours', () => {
    expect(() => checkFolderPath('/home/ann/.config/MusiLingo Desktop', { ...POSIX, origin: 'cli' })).toThrow(/own data folder/);
    expect(() => checkFolderPath('~/.config/MusiLingo Desktop/models', { ...POSIX, origin: 'cli' })).toThrow(/own data folder/);
    expect(() => checkFolderPath('c:\\users\\ANN\\appdata\\roaming\\musilingo desktop\\models', { ...WIN, origin: 'renderer' })).toThrow(/own data folder/);
    expect(checkFolderPath('/home/ann/.config/MusiLingo Desktop Music', { ...POSIX, origin: 'cli' })).toBe('/home/ann/.config/MusiLingo Desktop Music');
  });

  it('refuses empty paths', () => {
    expect(() => checkFolderPath('  ', { ...POSIX, origin: 'cli' })).toThrow(/empty/);
  });
});

describe('folder consent (folders:add from the renderer)', () => {
  const dataDir = '/data/ml';
  it('adds a picked folder without asking, once', async () => {
    const asked: string[] = [];
    const consent = createFolderConsent({ dataDir, confirm: (p) => (asked.push(p), Promise.resolve(false)) });
    const pick = consent.picker(() => Promise.resolve('/music/picked'));
    expect(await pick()).toBe('/music/picked');
    await expect(consent.approve('/music/picked')).resolves.toBe('/music/picked');
    expect(asked).toEqual([]);
    // The pick is used up: the same path sent again is a typed path and needs the user's yes.
    await expect(consent.approve('/music/picked')).rejects.toMatchObject({ code: 'cancelled' });
    expect(asked).toEqual(['/music/picked']);
  });

  it('asks the user in main\'s dialog for a typed path, and adds it only on yes', async () => {
    const answers = [true, false];
    const asked: string[] = [];
    const consent = createFolderConsent({ dataDir, home: '/home/ann', confirm: (p) => (asked.push(p), Promise.resolve(answers.shift() ?? false)) });
    await expect(consent.approve('~/Music')).resolves.toBe('/home/ann/Music');
    await expect(consent.approve('/srv/other')).rejects.toMatchObject({ code: 'cancelled', message: '"/srv/other" was not added to the library.' });
    expect(asked).toEqual(['/home/ann/Music', '/srv/other']);
  });

  it('never asks about a path that is invalid anyway', async () => {
    const asked: string[] = [];
    const consent = createFolderConsent({ dataDir, confirm: (p) => (asked.push(p), Promise.resolve(true)) });
    await expect(consent.approve('/')).rejects.toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(/top of the disk/) });
    await expect(consent.approve('music')).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(consent.approve('/data/ml/models')).rejects.toMatchObject({ code: 'invalid-argument' });
    // A picked root is still refused.
    await consent.picker(() => Promise.resolve('/'))();
    await expect(consent.approve('/')).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(asked).toEqual([]);
  });

  it('without a dialog, accepts only picked folders', async () => {
    const consent = createFolderConsent({ dataDir, confirm: null });
    await expect(consent.approve('/music/typed')).rejects.toThrow(/was not chosen with the folder picker/);
  });
});
