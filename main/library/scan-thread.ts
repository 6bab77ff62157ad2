/**
 * @file Entry of a scan thread (a Node worker thread; bundled as out/cli/scan.thread.mjs): reads the files the
 * scanner sends, one at a time with blocking calls, and answers with plain data. No database, no Electron.
 * See [Note: Scan threads] in scan-pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { blockingFs } from './fs';
import { readOutcome } from './read-track';
import { SCAN_THREAD_READY, type ScanThreadReply, type ScanThreadRequests } from './scan-pool';

const port = parentPort;
if (!port) throw new Error('scan-thread.ts runs only as a worker thread (see main/library/scan-pool.ts)');

port.on('message', (reqs: ScanThreadRequests) => {
  void (async () => {
    const replies: ScanThreadReply[] = [];
    // readOutcome never throws; with blocking calls the batch is read before the next message is taken.
    for (const req of reqs) replies.push({ id: req.id, outcome: await readOutcome(blockingFs, req.path, req.sizeBytes) });
    port.postMessage(replies);
  })();
});
port.postMessage(SCAN_THREAD_READY);
