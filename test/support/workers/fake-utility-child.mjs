// A stand-in for an Electron utility process, run with child_process.fork: it gives the worker entry named by
// argv[2] a process.parentPort whose first message carries the start data and a MessagePortMain-like port, as
// Electron does. The port's messages travel over the fork's IPC channel (test/support/workers/fake-utility.ts).
import { EventEmitter } from 'node:events';
import { setImmediate } from 'node:timers';
import { pathToFileURL } from 'node:url';

// Like a MessagePortMain, the port queues what arrives until start() and delivers it from the event loop.
const portEvents = new EventEmitter();
let queue = [];
const port = {
  postMessage: (m) => process.send?.({ type: 'port', m }),
  on: (event, listener) => portEvents.on(event, listener),
  off: (event, listener) => portEvents.off(event, listener),
  start: () => {
    if (queue === null) return;
    const held = queue;
    queue = null;
    setImmediate(() => {
      for (const m of held) portEvents.emit('message', { data: m });
    });
  },
  close: () => undefined,
};
let init;
let initListener;
process.on('message', (x) => {
  if (x.type === 'init') {
    init = { data: x.data, ports: [port] };
    initListener?.(init);
  } else if (x.type === 'port') {
    if (queue) queue.push(x.m);
    else portEvents.emit('message', { data: x.m });
  }
});
process.parentPort = {
  once(_event, listener) {
    if (init) listener(init);
    else initListener = listener;
  },
};
await import(pathToFileURL(process.argv[2]).href);
