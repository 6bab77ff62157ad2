/**
 * @file The web-contents hardening with injected Electron objects (no Electron binary): the exact IPC sender
 * check, the window's webPreferences, navigation, window-open, permission and request handlers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  hardenSession,
  hardenWebContents,
  isAppFrame,
  SECURE_WEB_PREFERENCES,
  type AppOrigin,
  type PreventableEvent,
  type SessionLike,
  type WebContentsLike,
} from '../../../main/app/web-hardening';

const PACKAGED: AppOrigin = { appRoot: '/opt/MusiLingo/resources/app.asar', devOrigin: null };
const DEV: AppOrigin = { appRoot: '/home/me/musilingo', devOrigin: 'http://localhost:5173' };
const INDEX = 'file:///opt/MusiLingo/resources/app.asar/out/renderer/index.html';

describe('isAppFrame (IPC sender check)', () => {
  it('trusts only our own top-level page', () => {
    expect(isAppFrame({ url: INDEX, parent: null }, PACKAGED)).toBe(true);
    expect(isAppFrame({ url: 'http://localhost:5173/', parent: null }, DEV)).toBe(true);
  });

  it('refuses sub-frames, missing frames, other files, sibling folders and other origins', () => {
    expect(isAppFrame({ url: INDEX, parent: {} }, PACKAGED)).toBe(false);
    expect(isAppFrame(null, PACKAGED)).toBe(false);
    expect(isAppFrame(undefined, PACKAGED)).toBe(false);
    expect(isAppFrame({ url: 'file:///tmp/evil.html', parent: null }, PACKAGED)).toBe(false);
    // A prefix without a separator would accept these: the app root's name is only the start of theirs.
    expect(isAppFrame({ url: 'file:///opt/MusiLingo/resources/app.asar.unpacked/evil.html', parent: null }, PACKAGED)).toBe(false);
    expect(isAppFrame({ url: 'file:///opt/MusiLingo/resources/app.asarx/index.html', parent: null }, PACKAGED)).toBe(false);
    expect(isAppFrame({ url: 'https://evil.example/', parent: null }, PACKAGED)).toBe(false);
    expect(isAppFrame({ url: 'http://localhost:5174/', parent: null }, DEV)).toBe(false);
    expect(isAppFrame({ url: 'http://localhost:5173/', parent: null }, PACKAGED)).toBe(false);
    expect(isAppFrame({ url: 'about:blank', parent: null }, PACKAGED)).toBe(false);
    expect(isAppFrame({ url: '', parent: null }, PACKAGED)).toBe(false);
  });

  it('is what ipc/register.ts asks before dispatching', () => {
    const register = readFileSync('main/ipc/register.ts', 'utf8');
    expect(register).toMatch(/if \(!isAppFrame\(event\.senderFrame\)\)/);
    const security = readFileSync('main/security.ts', 'utf8');
    expect(security).toMatch(/hardening\.isAppFrame\(frame, appOrigin\(\)\)/);
  });
});

describe('webPreferences', () => {
  it('isolates and sandboxes the renderer with no Node and no webviews', () => {
    expect(SECURE_WEB_PREFERENCES).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    // The window spreads these first and adds only the preload path.
    expect(readFileSync('main/window.ts', 'utf8')).toMatch(/webPreferences: \{\s*\.\.\.SECURE_WEB_PREFERENCES,\s*preload: PRELOAD_PATH,\s*\}/);
  });
});

class FakeContents implements WebContentsLike {
  readonly listeners = new Map<string, (event: PreventableEvent, url?: string) => void>();
  openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined;
  constructor(private readonly current: string) {}
  on(event: string, listener: (event: PreventableEvent, url: string) => void): unknown {
    this.listeners.set(event, listener as (event: PreventableEvent, url?: string) => void);
    return this;
  }
  getURL(): string {
    return this.current;
  }
  setWindowOpenHandler(handler: (d: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }
  fire(name: string, url?: string): boolean {
    let prevented = false;
    const listener = this.listeners.get(name);
    if (!listener) throw new Error(`no ${name} listener`);
    listener({ preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

describe('hardenWebContents', () => {
  it('blocks navigation, redirects and webviews, and sends only https/mailto links to the browser', () => {
    const opened: string[] = [];
    const c = new FakeContents(INDEX);
    hardenWebContents(c, (u) => opened.push(u));
    expect(c.fire('will-navigate', 'https://example.com/')).toBe(true);
    expect(c.fire('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(c.fire('will-navigate', INDEX)).toBe(false); // a reload of the page itself
    expect(c.fire('will-redirect')).toBe(true);
    expect(c.fire('will-attach-webview')).toBe(true);
    expect(opened).toEqual(['https://example.com/']);
  });

  it('denies every new window and opens only safe links externally', () => {
    const opened: string[] = [];
    const c = new FakeContents(INDEX);
    hardenWebContents(c, (u) => opened.push(u));
    expect(c.openHandler?.({ url: 'https://huggingface.co/m-a-p' })).toEqual({ action: 'deny' });
    expect(c.openHandler?.({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' });
    expect(c.openHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://huggingface.co/m-a-p']);
  });
});

describe('hardenSession', () => {
  function fakeSession(): { session: SessionLike; request: (p: string) => boolean; check: () => boolean; onRequest: (url: string) => boolean } {
    let request: ((c: unknown, p: string, cb: (g: boolean) => void) => void) | undefined;
    let check: (() => boolean) | undefined;
    let before: ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void) | undefined;
    const session: SessionLike = {
      setPermissionRequestHandler: (h) => (request = h),
      setPermissionCheckHandler: (h) => (check = h),
      webRequest: { onBeforeRequest: (l) => (before = l) },
    };
    return {
      session,
      request: (p) => {
        let granted: boolean | undefined;
        request?.(null, p, (g) => (granted = g));
        if (granted === undefined) throw new Error('permission callback not called');
        return granted;
      },
      check: () => check?.() ?? true,
      onRequest: (url) => {
        let cancel: boolean | undefined;
        before?.({ url }, (r) => (cancel = r.cancel));
        if (cancel === undefined) throw new Error('request callback not called');
        return cancel;
      },
    };
  }

  it('denies every permission', () => {
    const s = fakeSession();
    hardenSession(s.session, PACKAGED);
    for (const p of ['media', 'notifications', 'geolocation', 'clipboard-read']) expect(s.request(p)).toBe(false);
    expect(s.check()).toBe(false);
  });

  it('cancels requests to the network and to files outside the app', () => {
    const s = fakeSession();
    hardenSession(s.session, PACKAGED);
    expect(s.onRequest(INDEX)).toBe(false);
    expect(s.onRequest('file:///home/me/.ssh/id_rsa')).toBe(true);
    expect(s.onRequest('https://example.com/')).toBe(true);
    const d = fakeSession();
    hardenSession(d.session, DEV);
    expect(d.onRequest('http://localhost:5173/src/main.ts')).toBe(false);
    expect(d.onRequest('file:///home/me/musilingo/out/renderer/index.html')).toBe(false);
    expect(d.onRequest('file:///home/me/other/index.html')).toBe(true);
  });
});
