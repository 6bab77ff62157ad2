/**
 * @file URL policy of the app's web contents: only the app's own resources load, and only https/mailto links
 * leave for the system browser.
 */
import { describe, expect, it } from 'vitest';
import { isAllowedRequest, isInsideAppRoot, isSafeExternalUrl } from '../../../main/app/url-policy';

const ROOT = '/opt/app/resources/app.asar';

describe('isAllowedRequest', () => {
  it('allows the bundled files and inline data, nothing remote', () => {
    expect(isAllowedRequest('file:///opt/app/resources/app.asar/out/renderer/index.html', null, ROOT)).toBe(true);
    expect(isAllowedRequest('data:image/png;base64,AAAA', null, ROOT)).toBe(true);
    expect(isAllowedRequest('https://example.com/x.js', null, ROOT)).toBe(false);
    expect(isAllowedRequest('http://127.0.0.1:5173/', null, ROOT)).toBe(false);
    expect(isAllowedRequest('not a url', null, ROOT)).toBe(false);
  });

  it('allows the dev server and its HMR socket only on its own host and port', () => {
    const dev = 'http://localhost:5173';
    expect(isAllowedRequest('http://localhost:5173/src/main.ts', dev, ROOT)).toBe(true);
    expect(isAllowedRequest('ws://localhost:5173/', dev, ROOT)).toBe(true);
    expect(isAllowedRequest('http://localhost:5174/', dev, ROOT)).toBe(false);
    expect(isAllowedRequest('https://evil.example/', dev, ROOT)).toBe(false);
  });
});

describe('file: URLs', () => {
  it('allows only the app\'s own files, never the rest of the disk', () => {
    for (const bad of [
      'file:///etc/passwd',
      'file:///home/me/Music/song.mp3',
      'file:///opt/app/resources/app.asar.evil/index.html',
      'file:///opt/app/resources/app.asar/../secrets.json',
      'file:///opt/app/resources/app.asar/out/..%2F..%2F..%2Fsecrets.json',
      'file://remote-host/opt/app/resources/app.asar/index.html',
    ]) {
      expect(isAllowedRequest(bad, null, ROOT), bad).toBe(false);
    }
    expect(isAllowedRequest('file:///opt/app/resources/app.asar/out/renderer/assets/x.js', null, ROOT)).toBe(true);
  });

  it('compares whole segments on Windows paths too', () => {
    const win = 'C:\\Program Files\\MusiLingo\\resources\\app.asar';
    expect(isInsideAppRoot('file:///C:/Program%20Files/MusiLingo/resources/app.asar/out/renderer/index.html', win)).toBe(true);
    expect(isInsideAppRoot('file:///c:/Program%20Files/MusiLingo/resources/app.asar/index.html', win)).toBe(true);
    expect(isInsideAppRoot('file:///C:/Program%20Files/MusiLingo/resources/app.asar2/index.html', win)).toBe(false);
    expect(isInsideAppRoot('file:///C:/Windows/win.ini', win)).toBe(false);
  });
});

describe('isSafeExternalUrl', () => {
  it('accepts https and mailto, refuses everything else', () => {
    expect(isSafeExternalUrl('https://huggingface.co/m-a-p')).toBe(true);
    expect(isSafeExternalUrl('mailto:someone@example.com')).toBe(true);
    for (const bad of ['http://example.com', 'file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', '']) {
      expect(isSafeExternalUrl(bad)).toBe(false);
    }
  });
});
