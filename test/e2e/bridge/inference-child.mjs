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
worker.on('message', (m) => process.send?.(m));
worker.on('error', (e) => {
  process.stderr.write(`inference worker failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
worker.on('exit', (code) => process.exit(code || 1));
process.on('message', (m) => worker.postMessage(m));
process.on('disconnect', () => process.exit(0));
