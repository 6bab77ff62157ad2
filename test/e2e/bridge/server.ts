/**
 * @file The E2E test bridge (plain Node): serves the built renderer over HTTP with a preload shim injected, and
 * answers the shim's WebSocket with the real handlers (createHandlers + dispatchInvoke, the same code path as
 * Electron IPC minus the sender check) over real services (SQLite, scanner, workers). See docs/desktop.md.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { createAppServices, type AppServices, type WorkerLaunchers } from '../../../main/app/services';
import { createCliRunner } from '../../../main/app/cli-runner';
import { dispatchInvoke } from '../../../main/ipc/dispatch';
import type { HubConfig } from '../../../main/models/hub';
import { createHandlers } from '../../../main/ipc/handlers';
import { createMediaHandler } from '../../../main/library/media-protocol';
import { Readable } from 'node:stream';

/** Options of {@link startBridge}. */
export interface BridgeOptions {
  /** The built renderer (vite output with index.html). */
  readonly rendererDir: string;
  /** The app data folder (fresh per test: mkdtemp). */
  readonly dataDir: string;
  readonly launchers?: WorkerLaunchers;
  /** Job runner poll interval (short in tests). */
  readonly jobPollMs?: number;
  /** The model hub to download from (the tests' local hub server). */
  readonly hub?: HubConfig;
  /** Where log lines go (default: collected in `logs`). */
  readonly log?: (line: string) => void;
}

/** A running bridge. */
export interface Bridge {
  readonly url: string;
  readonly services: AppServices;
  readonly logs: string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const SHIM = readFileSync(join(import.meta.dirname, 'shim.js'), 'utf8');
/** The CLI bundle the app runs for conversions (built by `npm run build:cli`, which `npm test` runs first). */
const CLI_BUNDLE = resolve(import.meta.dirname, '../../../out/cli/musilingo.mjs');

/** Starts services, HTTP and WebSocket on a free localhost port. */
export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const logs: string[] = [];
  const writeLog = opts.log ?? ((line: string) => logs.push(line));
  const services = await createAppServices({
    dataDir: opts.dataDir,
    version: 'e2e',
    hasNativeDialogs: false,
    pickFolder: () => Promise.resolve(null),
    // The browser bridge has no main-process dialog: the test driving the page is the user who confirms.
    confirmFolder: () => Promise.resolve(true),
    launchers: opts.launchers ?? {},
    ...(opts.jobPollMs !== undefined ? { jobPollMs: opts.jobPollMs } : {}),
    ...(opts.hub ? { hub: opts.hub } : {}),
    runCli: createCliRunner(CLI_BUNDLE, opts.dataDir),
    mediaBase: '/__bridge/media/',
    log: (level, message, error) => writeLog(`${level}: ${message}${error instanceof Error ? ` (${error.stack ?? error.message})` : ''}`),
  });
  const handlers = createHandlers(services);
  // The same handler Electron registers for musilingo-media://, served over HTTP for Chromium.
  const media = createMediaHandler(services.db);
  const root = resolve(opts.rendererDir);
  const indexHtml = readFileSync(join(root, 'index.html'), 'utf8').replace(
    '<script type="module"',
    '<script src="/__bridge/shim.js"></script>\n    <script type="module"',
  );

  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': TYPES['.html']!, 'cache-control': 'no-store' }).end(indexHtml);
      return;
    }
    if (path.startsWith('/__bridge/media/')) {
      const headers = new Headers();
      if (req.headers.range) headers.set('range', req.headers.range);
      void media(new Request(`http://bridge${req.url ?? ''}`, { method: req.method ?? 'GET', headers })).then((answer) => {
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        if (answer.body) Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream).pipe(res);
        else res.end();
      });
      return;
    }
    if (path === '/__bridge/shim.js') {
      res.writeHead(200, { 'content-type': TYPES['.js']! }).end(SHIM);
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });

  const wss = new WebSocketServer({ server, path: '/__bridge/ws' });
  const clients = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('message', (data) => {
      let msg: { id: number; channel: unknown; args: unknown };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      const args = Array.isArray(msg.args) ? msg.args : [];
      void dispatchInvoke(handlers, msg.channel, args, (m, e) => writeLog(`error: ${m}: ${String(e)}`)).then((result) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: msg.id, result }));
      });
    });
  });
  const unsubscribe = services.events.subscribe((event, payload) => {
    const text = JSON.stringify({ event, payload });
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    services,
    logs,
    async close() {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      await new Promise<void>((ok) => server.close(() => ok()));
      await services.close();
    },
  };
}
