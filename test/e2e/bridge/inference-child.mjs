// @file The E2E bridge's inference process (plain Node child process): runs the CLI bundle's inference
// worker thread inside its own process and relays its messages over process IPC (structured clone via
// serialization 'advanced'), so a native crash — or the test killing it — ends only this process, as a
// crash of the app's utility process ends only that one. Arguments: <inference.thread.mjs> <threads>.
import { Worker } from 'node:worker_threads';

const [entry, threads] = process.argv.slice(2);
if (!entry || !process.send) {
  process.stderr.write('usage: inference-child.mjs <inference.thread.mjs> <threads> (as a forked child)\n');
  process.exit(2);
}
const worker = new Worker(entry, { workerData: { threads: Number(threads ?? 0) } });

// [Note: Holding a streamed answer in the E2E bridge]
// The tiny model answers in a fraction of a second, so a test could not click Stop while an answer streams or
// see the live region before the answer ends. A test asks for a hold ({ e2e: 'hold-ask', tokens: n }): the next
// 'ask' call relays its first n token events, then its later messages (tokens and the reply) wait here until the
// parent cancels that call, or releases the hold ({ e2e: 'release' }). Other calls (captions) pass untouched.
// Test-only: the app's utility process has no such hook, and nothing is timed.
/** @type {{ tokens: number, id: number | null, seen: number, held: unknown[] | null } | null} */
let hold = null;

function release() {
  const held = hold?.held ?? [];
  hold = null;
  for (const m of held) process.send?.(m);
}

worker.on('message', (m) => {
  if (hold && hold.id !== null && m && typeof m === 'object' && m.id === hold.id) {
    if (hold.held) {
      hold.held.push(m);
      return;
    }
    if (m.event === 'token' && ++hold.seen >= hold.tokens) hold.held = [];
  }
  process.send?.(m);
});
worker.on('error', (e) => {
  process.stderr.write(`inference worker failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
worker.on('exit', (code) => process.exit(code || 1));
process.on('message', (m) => {
  if (m && typeof m === 'object' && 'e2e' in m) {
    if (m.e2e === 'hold-ask') hold = { tokens: Math.max(1, Number(m.tokens) || 1), id: null, seen: 0, held: null };
    else release();
    return;
  }
  if (hold && hold.id === null && m && typeof m === 'object' && m.method === 'ask') hold.id = m.id;
  worker.postMessage(m);
  if (hold && m && typeof m === 'object' && m.cancel === true && m.id === hold.id) release();
});
process.on('disconnect', () => process.exit(0));
