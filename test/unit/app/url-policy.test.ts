/**
 * @file URL policy of the app's web contents: only the app's own resources load, and only https/mailto links
 * leave for the system browser.
 */
import { describe, expect, it } from 'vitest';
import { isAllowedRequest, isSafeExternalUrl } from '../../../main/app/url-policy';

describe('isAllowedRequest', () => {
  it('allows the bundled files and inline data, nothing remote', () => {
    expect(isAllowedRequest('file:///opt/app/resources/app.asar/out/renderer/index.html', null)).toBe(true);
    expect(isAllowedRequest('data:image/png;base64,AAAA', null)).toBe(true);
    expect(isAllowedRequest('https://example.com/x.js', null)).toBe(false);
    expect(isAllowedRequest('http://127.0.0.1:5173/', null)).toBe(false);
    expect(isAllowedRequest('not a url', null)).toBe(false);
  });

  it('allows the dev server and its HMR socket only on its own host and port', () => {
    const dev = 'http://localhost:5173';
    expect(isAllowedRequest('http://localhost:5173/src/main.ts', dev)).toBe(true);
    expect(isAllowedRequest('ws://localhost:5173/', dev)).toBe(true);
    expect(isAllowedRequest('http://localhost:5174/', dev)).toBe(false);
    expect(isAllowedRequest('https://evil.example/', dev)).toBe(false);
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
